"""`effort analyze variance|anomalies|capacity|forecast|billing|retro`: the analytics on the local store.

Reads the store (``effort sync`` fills it), runs one pure analysis from ``tools.analytics`` and prints a
rich table, or JSON with ``--json``. ``billing`` writes CSV / Markdown / JSON drafts (nothing is sent).
Every output states how fresh the data is (``tools/freshness.py``); an empty store is an error that
says to sync, never a table of zeros. Dates print as ISO 8601.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, cast

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from agent.cli.common import ConfigOpt, JsonOpt, fail, settings_or_exit, stderr_console, working

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agent.config import Settings
    from tools.analytics.capacity import PersonCapacity
    from tools.freshness import Freshness

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

analyze_app = typer.Typer(help="Analyses over the local store (no LLM, read-only).", no_args_is_help=True)
app.add_typer(analyze_app, name="analyze")

ProjectOpt = Annotated[
    list[str] | None, typer.Option("--project", help="Limit to these projects, by name or gid (repeatable).")
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Pin 'now' (ISO date or datetime).")]
TopOpt = Annotated[int, typer.Option("--top", help="Rows per table.")]


def _parse_date(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{name} must be an ISO date (YYYY-MM-DD), got {text!r}") from None


def _parse_period(period: str, settings: Settings) -> tuple[date, date]:
    """``--period`` in the one period grammar (tools/periods.py), relative to the configured today."""
    from tools.periods import PeriodError, parse_period

    try:
        parsed = parse_period(period, settings.today())
    except PeriodError as exc:
        raise fail(f"bad --period: {exc}") from None
    return parsed.start, parsed.end


def _parse_as_of(text: str | None, settings: Settings) -> datetime | None:
    """``--as-of`` (a date means the end of that day), else the configured as_of, else None (live)."""
    if text is None:
        if settings.as_of is None:
            return None
        return datetime.combine(settings.as_of, time(23, 59, 59), UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--as-of must be an ISO date or datetime, got {text!r}") from None
    if len(text) == 10:  # a bare date means the end of that day
        value = value.replace(hour=23, minute=59, second=59)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Loaded(NamedTuple):
    settings: Settings
    workspace: Any
    freshness: Freshness


def _load(config: Path | None, projects: list[str] | None, as_of: str | None) -> Loaded:
    """Settings, the store's Workspace and its freshness (a clear error if any is unusable: an empty
    store says to sync). ``--project`` takes names or gids (names case-insensitive); an unknown one is
    an error, never a silent empty answer."""
    from tools.freshness import NOTHING_SYNCED, never_synced, store_freshness
    from tools.redact import Redactor
    from tools.store import Store

    settings = settings_or_exit(config)
    if never_synced(settings.database_url):
        raise fail(f"{NOTHING_SYNCED} (no store at {settings.database_url})", code=1)
    pinned = _parse_as_of(as_of, settings)
    if pinned is not None:
        settings = settings.model_copy(update={"as_of": pinned.date()})
    try:
        store = Store.open(settings.database_url)
        freshness = store_freshness(store)
        if freshness.empty:
            raise fail(f"{freshness.describe()} (the store {_store_label(settings)} has no tasks)", code=1)
        gids = _project_gids(store, projects or [])
        workspace = store.workspace(project_gids=gids or None, as_of=pinned)
    except typer.Exit:
        raise
    except Exception as exc:  # a missing/locked database: say so, don't dump a traceback
        redact = Redactor([*settings.secrets(), _db_password(settings.database_url)])
        detail = redact(str(exc))[:300]
        raise fail(
            f"cannot read the store ({type(exc).__name__}): run `effort sync` first? {detail}"
        ) from None
    if pinned is not None and workspace.as_of is None:
        workspace = workspace.model_copy(update={"as_of": pinned})
    return Loaded(settings, workspace, freshness)


def _store_label(settings: Settings) -> str:
    """The store's URL without its password."""
    url = settings.database_url
    password = _db_password(url)
    return url.replace(password, "***") if password else url


def _freshness_line(loaded: Loaded) -> str:
    """``data as of …`` plus the analysis date, for the top of a table."""
    as_of = loaded.workspace.as_of
    day = as_of.date().isoformat() if as_of is not None else loaded.settings.today().isoformat()
    return f"{loaded.freshness.describe()}; analysis as of {day}"


def _project_gids(store: Any, refs: list[str]) -> list[str]:
    from agent.runs import ScopeError, resolve_scope

    try:
        return resolve_scope(store, refs)[1]
    except ScopeError as exc:
        raise fail(f"--project: {exc}") from None


def _db_password(url: str) -> str:
    """The password inside a database URL (to redact it from error text), or ""."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).password or ""
    except Exception:  # an unparsable URL has no password we could find
        return ""


def _calendar(settings: Settings, workspace: Any) -> Any:
    from tools.analytics.calendar import build_calendar, read_ics

    ics_text = None
    if settings.capacity.ics_file is not None:
        try:
            ics_text = read_ics(settings.capacity.ics_file)
        except OSError as exc:
            raise fail(f"cannot read the time-off calendar {settings.capacity.ics_file}: {exc}") from None
    try:
        return build_calendar(settings.capacity, workspace.people, ics_text=ics_text)
    except ValueError as exc:
        raise fail(str(exc)) from None


def _emit_json(model: BaseModel, loaded: Loaded) -> None:
    """The analysis as JSON, plus ``data_freshness`` (when the store was last synced)."""
    data = model.model_dump(mode="json")
    data["data_freshness"] = {
        **loaded.freshness.model_dump(mode="json"),
        "description": loaded.freshness.describe(),
    }
    typer.echo(json.dumps(data, indent=2))


def _print_freshness(console: Console, loaded: Loaded) -> None:
    console.print(f"[dim]{_freshness_line(loaded)}[/dim]", soft_wrap=True, highlight=False)


def _console() -> Console:
    return Console()


@analyze_app.command("variance")
def variance_command(
    since: Annotated[
        str | None, typer.Option("--since", help="Tasks completed on or after (ISO date).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Tasks completed on or before (ISO date).")
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Comma-separated dimensions.")
    ] = "project_type,assignee,tag,section,month",
    top: TopOpt = 10,
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Actual vs estimate: bias (median ratio), spread, overrun share by type, assignee, tag, section, month."""
    with working("reading the store…"):  # at once on screen: the imports below take seconds
        from tools.analytics.variance import Dimension, variance_report

        dims = [d.strip() for d in by.split(",") if d.strip()]
        allowed = {"project_type", "assignee", "tag", "section", "month", "project", "team"}
        if bad := [d for d in dims if d not in allowed]:
            raise fail(f"unknown dimension(s) {bad}; choose from {sorted(allowed)}")
        loaded = _load(config, project, as_of)
        workspace = loaded.workspace
        report = variance_report(
            workspace,
            start=_parse_date(since, "--since"),
            end=_parse_date(until, "--until"),
            dimensions=cast("list[Dimension]", dims),
            top=top,
        )
    if as_json:
        return _emit_json(report, loaded)
    console = _console()
    _print_freshness(console, loaded)
    console.print(
        f"{report.with_ratio} tasks with estimate and actual (of {report.tasks_considered}); "
        f"missing estimate {report.missing_estimate}, missing actual {report.missing_actual}, zero hours {report.zero_hours}"
    )
    if report.overall:
        o = report.overall
        console.print(
            f"Overall: median actual/estimate {o.median_ratio:.2f} [{o.ratio_low:.2f}-{o.ratio_high:.2f}], "
            f"overrun share {o.overrun_share:.0%}"
        )
    for dim, groups in report.by.items():
        table = Table(title=f"by {dim}")
        for col in ("group", "n", "median ratio", "90% interval", "IQR log", "overran", "est h", "act h"):
            table.add_column(col, justify="left" if col == "group" else "right")
        for g in groups:
            table.add_row(
                g.label, str(g.n), f"{g.median_ratio:.2f}", f"{g.ratio_low:.2f}-{g.ratio_high:.2f}",
                f"{g.iqr_log_ratio:.2f}", f"{g.overrun_share:.0%}", f"{g.estimate_hours:.0f}", f"{g.actual_hours:.0f}",
            )  # fmt: skip
        console.print(table)


@analyze_app.command("anomalies")
def anomalies_command(
    since: Annotated[str | None, typer.Option("--since", help="Entries on or after (ISO date).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Entries on or before (ISO date).")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these kinds (repeatable).")] = None,
    min_score: Annotated[float, typer.Option("--min-score", help="Hide flags scoring below this.")] = 0.35,
    top: TopOpt = 30,
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Suspicious time entries, each with a score and a reason."""
    with working("reading the store…"):  # at once on screen: the imports below take seconds
        from tools.analytics.anomalies import (
            AnomalyConfig,
            AnomalyKind,
            detect_anomalies,
            summarize_anomalies,
        )
        from tools.analytics.frame import build_frame

        try:
            kinds = tuple(AnomalyKind(k) for k in kind) if kind else tuple(AnomalyKind)
        except ValueError:
            raise fail(f"unknown kind in {kind}; choose from {[k.value for k in AnomalyKind]}") from None
        loaded = _load(config, project, as_of)
        settings, workspace = loaded.settings, loaded.workspace
        frame = build_frame(workspace)
        flags = detect_anomalies(
            workspace,
            calendar=_calendar(settings, workspace),
            config=AnomalyConfig(min_score=min_score, kinds=kinds),
            start=_parse_date(since, "--since"),
            end=_parse_date(until, "--until"),
            frame=frame,
        )
        summary = summarize_anomalies(flags, top=top, frame=frame)
    if as_json:
        return _emit_json(summary, loaded)
    console = _console()
    _print_freshness(console, loaded)
    console.print(f"{summary.total} flags: " + ", ".join(f"{k} {v}" for k, v in summary.by_kind.items()))
    table = Table(title="highest-scoring flags")
    for col in ("score", "kind", "day", "who", "entry / task", "reason"):
        table.add_column(col)
    names = {p.gid: p.name for p in workspace.people}
    for f in summary.top:
        table.add_row(
            f"{f.score:.2f}", f.kind.value, str(f.day or ""), names.get(f.person_gid or "", f.person_gid or ""),
            f.entry_gid or f.task_gid or "", f.reason,
        )  # fmt: skip
    console.print(table)


@analyze_app.command("capacity")
def capacity_command(
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=52, help="Weeks ahead.")] = 6,
    top: TopOpt = 10,
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Per person per week: planned load vs capacity, over/under-allocation and burnout signals."""
    with working("reading the store…"):  # at once on screen: the imports below take seconds
        from tools.analytics.capacity import capacity_report

        loaded = _load(config, project, as_of)
        settings, workspace = loaded.settings, loaded.workspace
        report = capacity_report(
            workspace, config=settings.capacity, calendar=_calendar(settings, workspace), weeks=weeks, top=top
        )
    if as_json:
        return _emit_json(report, loaded)
    console = _console()
    _print_freshness(console, loaded)
    # Asana allocations and time off (OOO or config) only add marks and a column when someone has
    # them, so a workspace without resourcing data prints the same table as before.
    has_off = any(w.out_of_office_days > 0 for p in report.people for w in p.weeks)
    has_alloc = any(p.allocations > 0 for p in report.people)
    legend = "utilisation; ! = over 110%" + ("; -Nd = N days off (OOO / time off)" if has_off else "")
    table = Table(title=f"capacity from {report.as_of} ({legend})")
    table.add_column("person")
    table.add_column("cap h/wk", justify="right")
    table.add_column("recent h/wk", justify="right")
    if has_alloc:
        table.add_column("alloc h (n)", justify="right")
    for w in report.people[0].weeks if report.people else []:
        table.add_column(w.week_start.strftime("%d %b"), justify="right")
    table.add_column("burnout")
    for p in report.people:
        cells = []
        for w in p.weeks:
            off = f" -{w.out_of_office_days}d" if w.out_of_office_days > 0 else ""
            if w.utilisation is None:
                cells.append(f"off{off}")
            else:
                mark = "!" if w.status == "over" else ""
                cells.append(f"{w.utilisation:.0%}{mark}{off}")
        alloc = [_alloc_cell(p)] if has_alloc else []
        table.add_row(
            p.name,
            f"{p.weekly_capacity_hours:.0f}",
            f"{p.recent_average_hours:.0f}",
            *alloc,
            *cells,
            "yes" if p.burnout else "",
        )
    console.print(table)
    if report.burnout:
        console.print(f"[yellow]Sustained overload:[/yellow] {', '.join(report.burnout)}")
    if has_alloc:
        console.print(
            "alloc h: Asana allocations placed in these weeks (n = allocations); per project the planned "
            "load is the larger of the allocation and the remaining estimates."
        )


def _alloc_cell(person: PersonCapacity) -> str:
    """Allocated hours over the horizon and the number of allocations, or empty without any."""
    if not person.allocations:
        return ""
    total = sum(w.allocated_hours for w in person.weeks)
    return f"{total:.0f} ({person.allocations})"


@analyze_app.command("forecast")
def forecast_command(
    project: ProjectOpt = None,
    simulations: Annotated[
        int, typer.Option("--sims", min=100, max=100_000, help="Monte Carlo runs.")
    ] = 4000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    top: TopOpt = 20,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Completion forecast per project: P50/P80/P95 finish dates, at-risk when P80 is past the due date."""
    with working("reading the store…"):  # at once on screen: the imports below take seconds
        from tools.analytics.forecast import forecast_projects

        loaded = _load(config, project, as_of)
        settings, workspace = loaded.settings, loaded.workspace
        report = forecast_projects(
            workspace,
            project_gids=None,  # the workspace is already limited to --project (names or gids)
            simulations=simulations,
            seed=seed,
            config=settings.capacity,
            calendar=_calendar(settings, workspace),
            top=top,
        )
    if as_json:
        return _emit_json(report, loaded)
    table = Table(
        title=f"completion forecast from {report.as_of} ({report.simulations} simulations)",
        box=box.SIMPLE_HEAD,  # light rules leave room for whole names beside four ISO dates
    )
    table.add_column("project", min_width=10, ratio=1)
    for col in ("P50", "P80", "P95", "due"):
        table.add_column(col, no_wrap=True, overflow="fold")  # a whole ISO date, never cut
    table.add_column("on time", no_wrap=True)

    def iso(day: date | None) -> str:
        return day.isoformat() if day else "-"

    for f in report.projects:
        chance = f"{f.p_on_time:.0%}" if f.p_on_time is not None else "-"
        table.add_row(
            f.name, iso(f.p50), iso(f.p80), iso(f.p95), iso(f.due_on),
            f"{chance} [red]at risk[/red]" if f.at_risk else chance,
        )  # fmt: skip
    console = _console()
    _print_freshness(console, loaded)
    console.print(table)


@analyze_app.command("billing")
def billing_command(
    period: Annotated[str, typer.Option("--period", help="2026-10, 2026, or 2026-10-01..2026-10-15.")],
    client: Annotated[
        list[str] | None, typer.Option("--client", help="Only these clients (repeatable).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv | md | json")] = "md",
    out: Annotated[Path | None, typer.Option("--out", help="Write the draft to this file.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Draft billing lines for a period (billable hours by client and project). Nothing is sent."""
    with working("reading the store…"):  # at once on screen: the imports below take seconds
        from tools.analytics.billing import billing_draft, to_csv, to_json, to_markdown

        if fmt not in ("csv", "md", "json"):
            raise fail(f"--format must be csv, md or json, got {fmt!r}")
        loaded = _load(config, project, None)
        settings, workspace = loaded.settings, loaded.workspace
        start, end = _parse_period(period, settings)
        draft = billing_draft(workspace, start, end, clients=client)
    if as_json:
        fmt = "json"
    text = {"csv": to_csv, "md": to_markdown, "json": to_json}[fmt](draft)
    # The draft itself stays a clean CSV / Markdown / JSON document: freshness goes to stderr.
    _print_freshness(stderr_console(), loaded)
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:  # an unwritable path is one clear line, not a traceback
            raise fail(f"cannot write {out}: {exc.strerror or type(exc).__name__}", code=1) from None
        stderr_console().print(
            f"wrote {out} ({len(draft.lines)} lines, {draft.total_minutes / 60:.2f} h). Draft only: nothing was sent."
        )
    else:
        typer.echo(text, nl=False)


@analyze_app.command("retro")
def retro_command(
    period: Annotated[
        str | None, typer.Option("--period", help="Default: the previous calendar month.")
    ] = None,
    top: TopOpt = 10,
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """A full retrospective for a period: variance, scope creep, overhead, anomalies, capacity, forecasts."""
    with working("reading the store…"):  # at once on screen: the imports below take seconds
        from tools.analytics.retro import retrospective

        loaded = _load(config, project, as_of)
        settings, workspace = loaded.settings, loaded.workspace
        start, end = _parse_period(period or "last-month", settings)
        report = retrospective(
            workspace,
            start,
            end,
            capacity_config=settings.capacity,
            calendar=_calendar(settings, workspace),
            top=top,
        )
    if as_json:
        return _emit_json(report, loaded)
    console = _console()
    _print_freshness(console, loaded)
    console.print(f"[bold]Retrospective {start} to {end}[/bold] (as of {report.as_of})")
    console.print(
        f"{report.tasks_completed} tasks completed, {report.tasks_created} created, "
        f"{report.entries} entries, {report.hours_logged:.0f} h logged"
    )
    for line in report.highlights:
        console.print(f"- {line}")
    if report.scope_creep.projects:
        table = Table(title="scope creep")
        for col in ("project", "added tasks", "added h", "raised", "raised h", "creep %"):
            table.add_column(col)
        for p in report.scope_creep.projects:
            table.add_row(
                p.name, str(p.tasks_added), f"{p.added_estimate_hours:.0f}", str(p.estimates_raised),
                f"{p.raised_hours:.0f}", f"{p.creep_pct:.0f}%" if p.creep_pct is not None else "-",
            )  # fmt: skip
        console.print(table)
    if report.bias_trends:
        table = Table(title="estimation bias trend (median actual/estimate per month)")
        table.add_column("group")
        table.add_column("months")
        table.add_column("direction")
        for t in report.bias_trends:
            table.add_row(
                f"{t.dimension}: {t.label}",
                "  ".join(f"{p.month[2:]} {p.median_ratio:.2f}" for p in t.points),
                t.direction,
            )
        console.print(table)


from agent.cli.budget_cmd import budget_command  # noqa: E402

analyze_app.command("budget")(budget_command)
