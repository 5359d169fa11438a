"""`make demo`: the whole product in about two minutes, with no Asana account and no LLM key.

Starts the built-in sandbox with a generated workspace, syncs it through the official SDK, runs a
retrospective, prints what a project lead would look at first, writes the HTML report, shows the
pending approval batch, approves part of it non-interactively, and shows the write-back and the audit
log. Everything lives under ``--dir`` (default ``.effort/demo``), recreated on each run.

The sandbox stops when the demo ends, so the demo leaves a config file (``<dir>/effort.toml``: the
demo's store, index, as-of date and scope, no token) and prints next steps that use it: they work
offline, exactly as printed, on what the demo synced.
"""

from __future__ import annotations

import gc
import shlex
import shutil
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

if TYPE_CHECKING:  # the heavy stack loads after the first lines are on screen
    from agent.config import Settings
    from agent.runs import RunOutcome
    from tools.analytics.retro import RetroReport

DEMO_SEED = 7
DEMO_TASKS = 400
_MARKER = ".effort-demo"  # the demo only ever deletes a folder that it made itself
APPROVE_FIELD_TASKS = 2  # the demo approves the AI estimates of this many tasks, plus the summary task


def run_demo(
    directory: Path, *, seed: int = DEMO_SEED, tasks: int = DEMO_TASKS, console: Console | None = None
) -> int:
    """Run the demo end to end; returns a process exit code."""
    console = console or Console()
    console.print(
        Panel.fit(
            "[bold]Effort Copilot[/bold] — plan from your team's own time-tracking history\n"
            "This demo runs against the built-in Asana-compatible sandbox: no account, no LLM key, no network.",
            border_style="cyan",
        )
    )
    console.print("Starting the sandbox…")
    code = _run(directory, seed, tasks, console)
    gc.collect()  # the asana SDK's clients close their thread pools now, not noisily at interpreter exit
    return code


def _run(directory: Path, seed: int, tasks: int, console: Console) -> int:
    from agent.cli.sync_cmd import print_sync_summary, sync_with_progress
    from agent.runs import parse_period, run_report
    from sandbox import Sandbox
    from sandbox.generator import DEFAULT_AS_OF
    from tools.analytics.retro import RetroReport
    from tools.redact import install_redaction

    if directory.exists() and any(directory.iterdir()) and not (directory / _MARKER).exists():
        console.print(
            f"[red]error:[/red] {directory} is not empty and was not made by `effort demo`: "
            "the demo recreates its folder, so give it a new or empty one (--dir)."
        )
        return 2
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    (directory / _MARKER).write_text("made by `effort demo`: recreated on each run\n", encoding="utf-8")
    with Sandbox.start(seed=seed, tasks=tasks) as sb:
        settings = _demo_settings(sb.base_url, sb.token, directory, DEFAULT_AS_OF)
        install_redaction(settings.secrets())
        config_path = write_demo_config(directory, sb.base_url, DEFAULT_AS_OF)
        console.rule("[bold cyan]1. Sandbox")
        console.print(
            f"Generated workspace: {tasks} tasks, seed {seed}, as of {DEFAULT_AS_OF} at {sb.base_url}"
        )

        console.rule("[bold cyan]2. Sync through the official asana SDK")
        summary = sync_with_progress(settings, console, full=True)
        print_sync_summary(summary, console)
        from tools.index.refresh import refresh_after_sync

        refreshed = refresh_after_sync(settings.database_url, settings.index, enabled=settings.index_on_sync)
        if refreshed is not None:
            console.print(
                f"Similar-task index (Chroma, offline MiniLM): {refreshed.indexed} tasks embedded in "
                f"{refreshed.seconds:.1f}s"
            )

        console.rule("[bold cyan]3. Retrospective")
        as_of = datetime.combine(DEFAULT_AS_OF, time(18, 0), UTC)
        period = parse_period("last-month", "retro", DEFAULT_AS_OF)
        outcome = run_report(settings, "retro", period, as_of=as_of)
        report = RetroReport.model_validate(outcome.values["analysis"])
        _print_findings(console, outcome, report)

        console.rule("[bold cyan]4. The approval batch")
        if not outcome.pending:
            console.print("[yellow]The retrospective proposed nothing.[/yellow]")
            return 0
        _print_batch(console, outcome)
        approved = _approve_part(settings, outcome, console)

        console.rule("[bold cyan]5. Write-back and audit log")
        written = _print_audit(settings, outcome.run_id, console)
        if not written <= set(approved):
            console.print(
                f"[red]Unexpected: writes for items nobody approved: {sorted(written - set(approved))}[/red]"
            )
            return 1
        console.print(
            f"The sandbox received {sb.write_count(succeeded=True)} write calls, for {len(written)} of the "
            f"{len(approved)} approved items (creating the AI fields on first use included); "
            "rejected items wrote nothing."
        )
    _print_next_steps(console, config_path, outcome.report_paths)
    return 0


def _demo_values(base_url: str, directory: Path, today: date) -> dict[str, Any]:
    """The demo's settings (no secrets): what the demo runs with and what its config file holds."""
    home = directory.resolve()
    return {
        "asana_base_url": base_url,  # the sandbox: report links point here, never at app.asana.com
        "database_url": f"sqlite:///{home / 'effort.db'}",
        "chroma_path": str(home / "chroma"),
        "data_dir": str(home),
        "phase": "suggest",
        "as_of": today,  # "today" is the generated workspace's own date, not the clock's
        "approver": "demo-lead",
        "scope": {"projects": ["*"]},  # the demo may annotate every project of its sandbox workspace
    }


def _demo_settings(base_url: str, token: str, directory: Path, today: date) -> Settings:
    from agent.config import load_settings

    return load_settings(
        **_demo_values(base_url, directory, today),
        asana_access_token=token,
        openai_api_key=None,
        openai_base_url=None,
    )


def write_demo_config(directory: Path, base_url: str, today: date) -> Path:
    """``<directory>/effort.toml``: the demo's store and settings, for `effort --config …` afterwards.

    No token is written: the sandbox is gone once the demo ends, and the next steps only read the
    store. Paths are absolute so the file works from any folder.
    """
    values = _demo_values(base_url, directory, today)
    lines = [
        "# Written by `effort demo`: the demo's own store and settings, so that its next steps work",
        '# offline after the sandbox has stopped. Use: effort --config THIS_FILE ask "…"',
        "# (or EFFORT_CONFIG=THIS_FILE). Environment variables still win over this file.",
    ]
    for key, value in values.items():
        if isinstance(value, dict):
            continue
        text = value.isoformat() if isinstance(value, date) else _toml_string(str(value))
        lines.append(f"{key} = {text}")
    lines += ["", "[scope]", 'projects = ["*"]  # every synced project of the sandbox workspace', ""]
    path = directory / "effort.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for col in columns:
        table.add_column(col)
    return table


def _print_findings(console: Console, outcome: RunOutcome, report: RetroReport) -> None:
    start, end = outcome.period
    console.print(
        f"Period {start} – {end}: {report.tasks_completed} tasks completed, "
        f"{report.hours_logged} hours logged."
    )
    for line in report.highlights:
        console.print(f"  • {line}")

    bias = _table("Top estimation biases (median actual / estimate)", "group", "ratio", "overran", "n")
    groups = [g for dim in ("project_type", "assignee") for g in report.variance.by.get(dim, [])]
    groups.sort(key=lambda g: -abs(g.median_ratio - 1))
    for g in groups[:6]:
        bias.add_row(g.label, f"{g.median_ratio:.2f}x", f"{g.overrun_share:.0%}", str(g.n))
    console.print(bias)

    if report.forecasts is not None:
        risk = _table("Completion forecasts", "project", "due", "P50", "P80", "P95", "at risk")
        for p in report.forecasts.projects[:6]:
            risk.add_row(
                p.name,
                str(p.due_on or "—"),
                str(p.p50 or "—"),
                str(p.p80 or "—"),
                str(p.p95 or "—"),
                "[red]yes[/red]" if p.at_risk else "no",
            )
        console.print(risk)

    if report.capacity is not None:
        over = _table(
            "People over capacity (next weeks)", "person", "weeks over 110%", "peak load", "burnout"
        )
        for person in report.capacity.people:
            loads = [w.utilisation for w in person.weeks if w.utilisation is not None]
            over_weeks = sum(1 for u in loads if u > 1.1)
            if over_weeks:
                over.add_row(
                    person.name,
                    str(over_weeks),
                    f"{max(loads):.0%}",
                    "[red]yes[/red]" if person.burnout else "no",
                )
        console.print(over)

    flags = _table("Flagged time entries", "kind", "score", "reason")
    for f in report.anomalies.top[:6]:
        flags.add_row(str(f.kind), f"{f.score:.2f}", f.reason)
    console.print(flags)

    rows = outcome.values.get("suggestions", [])[:6]
    # One confidence for every row says nothing per task (see ReportData.shared_confidence): say it once.
    shared = {s["confidence"] for s in rows}
    columns = ("task", "human", "AI", "P10–P90") + (("confidence",) if len(shared) > 1 else ())
    sugg = _table("Suggested estimates for open tasks", *columns)
    for s in rows:
        human = "—" if s["human_estimate_hours"] is None else f"{s['human_estimate_hours']:g} h"
        cells = [
            s["task_name"][:48],
            human,
            f"{s['estimate_hours']:g} h",
            f"{s['p10_hours']:g}–{s['p90_hours']:g} h",
        ]
        sugg.add_row(*cells, *([f"{s['confidence']:.0%}"] if len(shared) > 1 else []))
    console.print(sugg)
    if len(shared) == 1:
        console.print(
            f"Confidence {shared.pop():.0%} for each: the share of recent tasks whose actual landed within "
            "±25% of the model's estimate (one figure until the history can tell tasks apart)."
        )
    for path in outcome.report_paths:
        console.print(f"Report written: [link=file://{Path(path).resolve()}]{path}[/link]")


_SHORT = {
    "AI Estimated Hours": "estimate",
    "AI Estimate P10": "P10",
    "AI Estimate P90": "P90",
    "AI Forecast Confidence": "confidence",
    "AI Schedule Variance %": "variance %",
    "AI Review Flag": "flag",
}


def _print_batch(console: Console, outcome: RunOutcome) -> None:
    """One row per target: a lead reads "what happens to this task", not 74 loose items."""
    from tools.proposals import ProposalKind

    rows: dict[tuple[str, str], list[str]] = {}
    numbers: dict[tuple[str, str], list[int]] = {}
    names = {s["task_gid"]: s["task_name"] for s in outcome.values.get("suggestions", [])}
    for i, p in enumerate(outcome.pending, 1):
        key = (p.target_gid, "fields" if p.kind is ProposalKind.SET_FIELD else p.kind.value)
        if p.kind is ProposalKind.SET_FIELD:
            label = _SHORT.get(p.field_name or "", p.field_name or "")
            rows.setdefault(key, []).append(f"{label} {p.value}")
            names.setdefault(
                p.target_gid, p.description.split("'")[1] if "'" in p.description else p.target_gid
            )
        else:
            rows.setdefault(key, []).append(p.description)
        numbers.setdefault(key, []).append(i)
    batch = _table(
        f"Pending approval: {len(outcome.pending)} items on thread {outcome.thread_id}",
        "items",
        "task",
        "proposed",
    )
    for key, changes in list(rows.items())[:14]:
        nums = numbers[key]
        contiguous = nums == list(range(nums[0], nums[-1] + 1))
        span = f"{nums[0]}–{nums[-1]}" if contiguous and len(nums) > 1 else ",".join(map(str, nums))
        batch.add_row(span, names.get(key[0], key[0])[:36], " · ".join(changes)[:70])
    if len(rows) > 14:
        batch.add_row("…", f"{len(rows) - 14} more tasks", "")
    console.print(batch)
    console.print("Nothing has been written to Asana yet: the graph is paused at its approval node.")


def _approve_part(settings: Settings, outcome: RunOutcome, console: Console) -> list[str]:
    """Approve the first tasks' AI estimates and the summary task; reject the rest (as a lead might)."""
    from agent.approvals_service import decisions_for, get_pending, resume
    from agent.checkpoint import open_checkpointer
    from agent.writer import writer_from_settings
    from tools.proposals import ProposalKind

    targets: list[str] = []
    chosen: list[str] = []
    for p in outcome.pending:
        if p.kind is ProposalKind.SET_FIELD and p.field_name and p.field_name.startswith("AI Estimate"):
            if p.target_gid not in targets and len(targets) >= APPROVE_FIELD_TASKS:
                continue
            if p.target_gid not in targets:
                targets.append(p.target_gid)
            chosen.append(p.id)
        elif p.kind is ProposalKind.SUMMARY_TASK:
            chosen.append(p.id)
    console.print(
        f"The lead approves {len(chosen)} of {len(outcome.pending)} items "
        f"(`effort approvals approve {outcome.thread_id} --items …`) and rejects the rest."
    )
    with open_checkpointer(settings) as saver:
        pending = get_pending(saver, outcome.thread_id)
        decisions = decisions_for(pending, "approve", approver=settings.approver, items=chosen, via="demo")
        writer = writer_from_settings(settings)
        try:
            resume(saver, pending, decisions, writer=writer, settings=settings, approver=settings.approver)
        finally:
            writer.gateway.close()
    return chosen


def _print_audit(settings: Settings, run_id: str, console: Console) -> set[str]:
    """Show the run's audit rows; returns the proposal ids whose write was applied."""
    from agent.audit import AuditAction, AuditLog, AuditStatus
    from tools.store import Store

    decided_statuses = {AuditStatus.APPROVED, AuditStatus.EDITED, AuditStatus.REJECTED}

    store = Store.open(settings.database_url)
    audit = AuditLog(store.engine)
    entries = audit.entries(run_id=run_id)
    decided = [e for e in entries if e.action is AuditAction.DECISION and e.status in decided_statuses]
    console.print(
        f"Audit log for run {run_id}: {len(entries)} rows, {len(decided)} decisions by "
        f"{settings.approver}; each write is recorded after its approval, with before and after."
    )
    table = _table("Writes", "status", "task", "what", "before → after")
    for e in entries:
        if e.action is AuditAction.WRITE:
            task = store.task(e.target_gid or "")
            what = e.field_name or str(e.kind or "")
            name = task.name[:28] if task else str(e.target_gid)
            table.add_row(str(e.status), name, what, f"{e.before!s} → {e.after!s}"[:40])
        elif e.action is AuditAction.CREATE_FIELD:
            table.add_row(str(e.status), "workspace", f"created field {e.field_name}", "first use")
    console.print(table)
    return {
        str(e.proposal_id)
        for e in entries
        if e.action is AuditAction.WRITE and e.status is AuditStatus.APPLIED and e.proposal_id
    }


def effort_invocation() -> str:
    """How to run `effort` from here, as the user started it: ``effort`` when that is on PATH and is
    this program, else the path it was started by (``.venv/bin/effort`` after `make demo`)."""
    argv0 = Path(sys.argv[0])
    if argv0.name != "effort":
        return "effort"
    on_path = shutil.which("effort")
    if on_path and Path(on_path).resolve() == argv0.resolve():
        return "effort"
    return shlex.quote(_shown_path(argv0))


def _shown_path(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it, else absolute."""
    full = path.absolute()  # not resolved: a symlinked .venv stays as the user sees it
    try:
        return str(full.relative_to(Path.cwd()))
    except ValueError:
        return str(full)


def next_steps(config_path: Path) -> list[tuple[str, str]]:
    """(command, what it shows) after the demo: all offline, on the demo's store, runnable as printed."""
    effort = f"{effort_invocation()} --config {shlex.quote(_shown_path(config_path))}"
    return [
        (
            f'{effort} ask "who is over capacity in the next 3 weeks?"',
            "one answer (offline mode, no LLM key)",
        ),
        (f'{effort} ask "which task types overran last quarter?"', "estimation bias, with dates"),
        (f"{effort} analyze forecast", "completion forecasts (P50/P80/P95) per project"),
        (f'{effort} index similar "export invoices to PDF" -k 3', "similar past tasks and their hours"),
        (f"{effort} approvals list", "batches waiting for a decision"),
        (f"{effort} chat", "a terminal chat (empty line or 'exit' quits)"),
    ]


def _print_next_steps(console: Console, config_path: Path, report_paths: list[str]) -> None:
    html = [p for p in report_paths if p.endswith(".html")]
    console.rule("[bold green]Try next")
    console.print(
        f"The sandbox has stopped; the demo's store stays in {_shown_path(config_path.parent)} and its "
        f"settings in {_shown_path(config_path)}. Each command below reads them, offline:"
    )
    for command, what in next_steps(config_path):
        console.print(f"  [dim]# {what}[/dim]")
        console.print(f"  $ {command}", soft_wrap=True, highlight=False, markup=False)
    if html:
        console.print(f"Report: {_shown_path(Path(html[-1]))} (open it in a browser)", soft_wrap=True)
    console.print(
        "Without `--config`, `effort` reads effort.toml (or EFFORT_CONFIG) and the store in .effort/: "
        "connect a real Asana with ASANA_ACCESS_TOKEN and `effort sync` (see the README).",
        soft_wrap=True,
    )
