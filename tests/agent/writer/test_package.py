"""The writer as a package (issue 13), proven by reading the product's source: the guard is the only
constructor of ``WriteGrant``, nothing outside the gateway touches the SDK handle, every module of the
package stays small, and the public import still works."""

from __future__ import annotations

import ast
from pathlib import Path

from tests import REPO

PRODUCT = [p for root in ("agent", "tools", "sandbox", "prompts") for p in (REPO / root).rglob("*.py")]


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _calls_named(tree: ast.AST, name: str) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else None
            )
            if called == name:
                lines.append(node.lineno)
    return lines


def test_only_the_guard_constructs_write_grants() -> None:
    makers = {
        str(path.relative_to(REPO)): lines
        for path in PRODUCT
        if (lines := _calls_named(_tree(path), "WriteGrant"))
    }
    assert set(makers) == {"agent/writer/guard.py"}, makers
    # ... and no module builds one by another name (dataclasses.replace, __new__, copy) either
    for path in PRODUCT:
        text = path.read_text(encoding="utf-8")
        if "WriteGrant" in text and str(path.relative_to(REPO)) not in ("agent/writer/guard.py",):
            assert "replace(" not in text or "WriteGrant" not in text.split("replace(")[1][:80], path


def test_the_sdk_handle_never_leaves_the_gateway() -> None:
    """Every write (story deletes and webhooks included) is a grant-checked gateway method: no module
    outside tools/gateway reaches for the SDK objects (``gateway.api`` / ``gateway._api``)."""
    offenders = []
    for path in PRODUCT:
        rel = str(path.relative_to(REPO))
        if rel.startswith(("tools/gateway/", "sandbox/")):  # the sandbox's own ``api`` is its server
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Attribute) and node.attr in ("api", "_api"):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_the_writer_is_a_package_of_small_modules() -> None:
    modules = sorted((REPO / "agent" / "writer").glob("*.py"))
    names = {p.stem for p in modules}
    assert {"guard", "fields", "create", "rollback", "values"} <= names
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in modules}
    assert max(sizes.values()) <= 320, sizes
    assert not (REPO / "agent" / "writer.py").exists()


def test_the_public_import_still_works() -> None:
    from agent.writer import ApplyResult, Writer, writer_from_settings

    assert callable(writer_from_settings) and Writer.apply and ApplyResult.model_fields["status"]
