"""`make demo` end to end, unattended, on a small workspace: every stage shows up and the write-back
touches only what the demo approved."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from agent.demo import run_demo


def test_demo_runs_unattended_and_shows_every_stage(tmp_path: Path) -> None:
    console = Console(record=True, width=100, color_system=None)
    code = run_demo(tmp_path / "demo", tasks=160, console=console)
    out = console.export_text()
    assert code == 0
    for stage in ("1. Sandbox", "2. Sync", "3. Retrospective", "4. The approval batch", "5. Write-back"):
        assert stage in out, stage
    assert "Pending approval:" in out and "Audit log for run" in out and "Try next" in out
    assert "rejected items wrote nothing" in out and "Unexpected" not in out
    html = list((tmp_path / "demo" / "reports").glob("retro-*.html"))
    assert len(html) == 1 and "<svg" in html[0].read_text(encoding="utf-8")
