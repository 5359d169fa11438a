"""Agent evaluations (deepeval, offline by default) and benchmarks (`evals/bench`).

Importing ``tools`` first switches off the telemetry of deepeval and friends before they are imported.
"""

import tools  # noqa: F401  (side effect: offline environment switches)
