"""Benchmarks: each module measures one Quality bar figure; ``evals.bench.all`` runs them all.

Contract that ``bench all`` reads (it adapts to each module, but this shape needs no adapter):
a module-level ``run(quick: bool = False, **kwargs)`` returning a dict (or pydantic model) whose
``"figures"`` is a list of ``{"figure": str, "value": float | str, "unit": str, "bar": str,
"passed": bool | None}``. Other numeric keys are shown as informational rows.
"""
