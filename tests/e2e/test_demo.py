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


def test_demo_report_links_to_the_sandbox_and_states_freshness(tmp_path: Path) -> None:
    """Issue 15: synced from the sandbox, every task link points at the sandbox (never app.asana.com),
    the report says how fresh its data is, and the demo leaves a config for its next steps."""
    import re

    from agent.config import load_settings

    console = Console(record=True, width=100, color_system=None)
    assert run_demo(tmp_path / "demo", tasks=120, console=console) == 0
    html = next((tmp_path / "demo" / "reports").glob("retro-*.html")).read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs and all(re.match(r"http://127\.0\.0\.1:\d+/0/", h) for h in hrefs), hrefs[:3]
    assert "app.asana.com" not in html
    assert "data as of 20" in html and "last full sync" in html
    settings = load_settings(tmp_path / "demo" / "effort.toml")
    assert settings.database_url.endswith("/demo/effort.db") and settings.asana_access_token is None
    assert settings.as_of is not None and settings.scope.projects == ["*"]
    out = console.export_text()
    assert "--config" in out and "effort.toml ask" in out


def test_demo_never_deletes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine", encoding="utf-8")
    console = Console(record=True, width=100, color_system=None)
    assert run_demo(tmp_path, tasks=40, console=console) == 2
    assert keep.read_text(encoding="utf-8") == "mine"
    assert "was not made by `effort demo`" in " ".join(console.export_text().split())
