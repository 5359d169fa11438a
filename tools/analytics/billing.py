"""Billing drafts: billable hours by client and project for a period, one line per task and rate.

From the truth: whether an entry is billable is the entry's own ``billable_status`` (read by sync from
Asana); money is the person's rate on the project from Asana's rates API, the project's mapped
hourly-rate field where Asana has none; a project budget's ``actual`` (Asana's own running total) is
checked against the stored entries where one exists. Only entries whose status is truly unknown (not
read, or a value this version does not know) fall back to a rule, and the draft says how many hours
that affects and how to read them.

Money and time are integers internally (minutes, cents via ``Decimal``), so line totals reconcile to
the minute with the entries they came from, and every entry lands in at most one line. Drafts only:
nothing here sends anything. Exporters: CSV, Markdown, JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.analytics.frame import Frame, day_of
from tools.records import BillableStatus, Budget, BudgetType, Project, Task, TimeEntry, Workspace

UNKNOWN_CLIENT = "(no client)"
RATE_ASANA = "asana rate"
RATE_FIELD = "project field"
RATE_NONE = "none"


class BillingLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    client: str
    project_gid: str | None
    project_name: str
    task_gid: str
    task_name: str
    permalink_url: str | None
    minutes: int
    hourly_rate: Decimal | None
    currency: str | None
    amount: Decimal | None  # None when no rate is known (flagged, still listed)
    entry_count: int
    entry_gids: tuple[str, ...]
    people: tuple[str, ...]
    rate_source: str = RATE_NONE  # where the rate came from: Asana's rates, the project's field, none

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class BillingTotal(BaseModel):
    model_config = ConfigDict(frozen=True)

    client: str
    project_name: str | None  # None = the client's total
    currency: str | None
    minutes: int
    amount: Decimal | None


class BudgetCheck(BaseModel):
    """Asana's own running total of a project's budget (``actual``) against the stored entries."""

    model_config = ConfigDict(frozen=True)

    project_gid: str
    project_name: str
    budget_type: str  # time (minutes) | cost (money)
    units: str | None
    asana_actual: float | None
    computed: float | None
    status: str  # "match" | "mismatch" | "not reconciled"
    note: str


class BillingDraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    period_start: date
    period_end: date
    lines: list[BillingLine]
    totals: list[BillingTotal]  # per client and project, then per client
    total_minutes: int
    amount_by_currency: dict[str, Decimal]
    warnings: list[str]
    excluded_entries: dict[str, int]  # reason -> count (non-billable, zero/negative, outside period…)
    # Entries whose billable status is truly unknown (details not read, or a value Asana added later):
    # only they fall back to the rule (task flag, else a client project with a rate).
    status_unknown_entries: int = 0
    status_unknown_minutes: int = 0
    rule_billed_minutes: int = 0  # of those, billed by the rule
    status_unknown_span: tuple[date, date] | None = None  # their first and last day (to read them)
    minutes_by_rate_source: dict[str, int] = {}
    budget_checks: list[BudgetCheck] = []

    def entry_gids(self) -> list[str]:
        return [gid for line in self.lines for gid in line.entry_gids]


def _rule_billable(task: Task | None, project: Project | None, projects_default: bool) -> bool:
    """The fallback for an entry whose own status is unknown: the task's billable flag, else a project
    with a client and a rate."""
    if task is not None and task.billable is not None:
        return task.billable
    return bool(projects_default and project is not None and project.client and project.hourly_rate)


def entry_billable(
    entry: TimeEntry, task: Task | None, project: Project | None, *, projects_default: bool = True
) -> bool:
    """The billing rule, one owner: an entry's own billable status when Asana gave one; only when it is
    unknown (details never read), the fallback rule (``_rule_billable``)."""
    if entry.billable_status is None:
        return _rule_billable(task, project, projects_default)
    return entry.billable_status is BillableStatus.BILLABLE


class _Rates:
    """Money per hour for a person on a project: Asana's rates first, the project's mapped
    hourly-rate field second (placeholder rates price planned work, not logged time)."""

    def __init__(self, workspace: Workspace) -> None:
        self.by_pair = {
            (r.project_gid, r.resource_gid): r for r in workspace.rates if not r.placeholder and r.project_gid
        }
        self.projects_with_rates = {r.project_gid for r in workspace.rates if r.project_gid}

    def of(self, project: Project | None, user_gid: str | None) -> tuple[Decimal | None, str | None, str]:
        if project is not None:
            rate = self.by_pair.get((project.gid, user_gid))
            if rate is not None:
                return Decimal(str(rate.rate)), rate.currency or project.currency, RATE_ASANA
            if project.hourly_rate is not None:
                return Decimal(str(project.hourly_rate)), project.currency, RATE_FIELD
        return None, None, RATE_NONE


def billing_draft(
    workspace: Workspace,
    period_start: date,
    period_end: date,
    *,
    clients: Sequence[str] | None = None,
    project_gids: Sequence[str] | None = None,
    project_billable_by_default: bool = True,
    already_billed: Sequence[str] = (),
    frame: Frame | None = None,
) -> BillingDraft:
    """Draft billing lines for entries dated in ``[period_start, period_end]``.

    Billable or not is each entry's own status; money is the person's rate on the project (Asana's
    rates API, else the project's hourly-rate field). ``already_billed`` entry gids (from earlier
    drafts that were sent) are left out, so re-running a period never bills an entry twice.
    """
    tasks = {t.gid: t for t in workspace.tasks}
    projects = {p.gid: p for p in workspace.projects}
    people = {p.gid: p.name for p in workspace.people}
    rates = _Rates(workspace)
    billed = set(already_billed)
    client_filter = {c.lower() for c in clients} if clients else None
    project_filter = set(project_gids) if project_gids else None
    excluded: dict[str, int] = {}
    seen: set[str] = set()
    groups: dict[tuple[str | None, str, Decimal | None, str | None, str], list[TimeEntry]] = {}
    unknown: list[TimeEntry] = []
    rule_minutes = 0

    def skip(reason: str) -> None:
        excluded[reason] = excluded.get(reason, 0) + 1

    if frame is not None:  # a prebuilt frame picks the period's entries without touching the rest
        in_period = (frame.e_day >= day_of(period_start)) & (frame.e_day <= day_of(period_end))
        candidates: Sequence[TimeEntry] = [workspace.entries[i] for i in np.flatnonzero(in_period).tolist()]
    else:
        candidates = workspace.entries
    for entry in candidates:
        if not period_start <= entry.entered_on <= period_end:
            continue
        if entry.gid in seen:
            skip("duplicate entry gid")
            continue
        seen.add(entry.gid)
        if entry.gid in billed:
            skip("already billed")
            continue
        task = tasks.get(entry.task_gid)
        project_gid = entry.project_gid or (task.project_gid if task else None)
        project = projects.get(project_gid) if project_gid else None
        if project_filter is not None and project_gid not in project_filter:
            skip("project not selected")
            continue
        client = (project.client if project else None) or UNKNOWN_CLIENT
        if client_filter is not None and client.lower() not in client_filter:
            skip("client not selected")
            continue
        billable = entry_billable(entry, task, project, projects_default=project_billable_by_default)
        if entry.billable_status is None:
            unknown.append(entry)
            if billable and entry.duration_minutes > 0:
                rule_minutes += entry.duration_minutes
        if not billable:
            skip("not billable")
            continue
        if entry.duration_minutes <= 0:
            skip("zero or negative duration")
            continue
        rate, currency, source = rates.of(project, entry.user_gid)
        groups.setdefault((project_gid, entry.task_gid, rate, currency, source), []).append(entry)

    lines: list[BillingLine] = []
    for (project_gid, task_gid, rate, currency, source), entries in groups.items():
        project = projects.get(project_gid) if project_gid else None
        task = tasks.get(task_gid)
        minutes = sum(e.duration_minutes for e in entries)
        amount = None
        if rate is not None:
            amount = (Decimal(minutes) * rate / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        lines.append(
            BillingLine(
                client=(project.client if project else None) or UNKNOWN_CLIENT,
                project_gid=project_gid,
                project_name=project.name
                if project
                else (task.project_name if task else None) or "(no project)",
                task_gid=task_gid,
                task_name=task.name if task else "(unknown task)",
                permalink_url=task.permalink_url if task else None,
                minutes=minutes,
                hourly_rate=rate,
                currency=currency,
                amount=amount,
                entry_count=len(entries),
                entry_gids=tuple(sorted(e.gid for e in entries)),
                people=tuple(sorted({people.get(e.user_gid or "", e.user_gid or "?") for e in entries})),
                rate_source=source,
            )
        )
    lines.sort(key=lambda ln: (ln.client, ln.project_name, ln.task_name, ln.task_gid, str(ln.hourly_rate)))
    checks = _budget_checks(workspace, {ln.project_gid for ln in lines if ln.project_gid}, projects, rates)
    by_source: dict[str, int] = {}
    for ln in lines:
        by_source[ln.rate_source] = by_source.get(ln.rate_source, 0) + ln.minutes
    totals = _totals(lines)
    by_currency: dict[str, Decimal] = {}
    for line in lines:
        if line.amount is not None:
            key = line.currency or "?"
            by_currency[key] = by_currency.get(key, Decimal(0)) + line.amount
    unknown_minutes = sum(max(e.duration_minutes, 0) for e in unknown)
    span = (min(e.entered_on for e in unknown), max(e.entered_on for e in unknown)) if unknown else None
    return BillingDraft(
        period_start=period_start,
        period_end=period_end,
        lines=lines,
        totals=totals,
        total_minutes=sum(ln.minutes for ln in lines),
        amount_by_currency=dict(sorted(by_currency.items())),
        warnings=_warnings(lines, unknown, unknown_minutes, rule_minutes, span, checks, by_currency),
        excluded_entries=dict(sorted(excluded.items())),
        status_unknown_entries=len(unknown),
        status_unknown_minutes=unknown_minutes,
        rule_billed_minutes=rule_minutes,
        status_unknown_span=span,
        minutes_by_rate_source=dict(sorted(by_source.items())),
        budget_checks=checks,
    )


def _warnings(
    lines: Sequence[BillingLine],
    unknown: Sequence[TimeEntry],
    unknown_minutes: int,
    rule_minutes: int,
    span: tuple[date, date] | None,
    checks: Sequence[BudgetCheck],
    by_currency: dict[str, Decimal],
) -> list[str]:
    """What the draft rests on, most important first (chat shows the first three)."""
    out: list[str] = []
    if unknown and span is not None:
        unread = sum(1 for e in unknown if e.details_read_at is None)
        why = (
            "their details were not read (outside the sync's detail window)"
            if unread == len(unknown)
            else f"{unread} not read, {len(unknown) - unread} with a status value this version does not know"
        )
        out.append(
            f"billable status unknown for {len(unknown)} entries ({_hm(unknown_minutes)} h) dated "
            f"{span[0]}..{span[1]}: {why}; {_hm(rule_minutes)} h of them billed by rule (task flag, else a "
            f"client project with a rate). `effort sync --details {span[0]}..{span[1]}` reads their status"
        )
    no_rate = sorted({ln.project_name for ln in lines if ln.amount is None})
    if no_rate:
        out.append(f"no hourly rate for: {', '.join(no_rate[:10])} (hours listed, no amount)")
    field_rate = sorted({ln.project_name for ln in lines if ln.rate_source == RATE_FIELD})
    if field_rate:
        out.append(
            f"no Asana rate for some people on: {', '.join(field_rate[:10])} (the project's hourly-rate field used)"
        )
    if len(by_currency) > 1:
        out.append(
            f"rates in several currencies ({', '.join(sorted(by_currency))}): totals are per currency, never converted"
        )
    out += [f"budget {c.project_name}: {c.note}" for c in checks if c.status != "match"]
    if any(ln.task_name == "(unknown task)" for ln in lines):
        out.append("some entries belong to tasks that are not in the store (listed as unknown task)")
    return out


def _budget_checks(
    workspace: Workspace, project_gids: set[str], projects: dict[str, Project], rates: _Rates
) -> list[BudgetCheck]:
    """Asana's budget ``actual`` (all time, its billable filter) against the stored entries."""
    out: list[BudgetCheck] = []
    budgets = [b for b in workspace.budgets if b.project_gid in project_gids and b.actual is not None]
    if not budgets:
        return out
    wanted = {b.project_gid for b in budgets}
    entries: dict[str, list[TimeEntry]] = {}
    for e in workspace.entries:
        if e.project_gid in wanted:
            entries.setdefault(e.project_gid, []).append(e)
    for b in budgets:
        project = projects.get(b.project_gid)
        out.append(
            _check_budget(
                b, project.name if project else b.project_gid, entries.get(b.project_gid, []), rates
            )
        )
    return out


def _check_budget(b: Budget, name: str, mine: Sequence[TimeEntry], rates: _Rates) -> BudgetCheck:
    flt = b.billable_status_filter or "billable"

    def check(status: str, note: str, computed: float | None = None) -> BudgetCheck:
        return BudgetCheck(
            project_gid=b.project_gid, project_name=name, budget_type=b.budget_type.value, units=b.units,
            asana_actual=b.actual, computed=computed, status=status, note=note,
        )  # fmt: skip

    if b.budget_type is BudgetType.COST and b.project_gid not in rates.projects_with_rates:
        return check("not reconciled", f"in {b.units or 'money'}, but no rates are stored for the project")
    unknown = [e for e in mine if flt != "any" and e.billable_status is None]
    if unknown:
        return check("not reconciled", f"billable status of {len(unknown)} of its entries not read")
    counted = [e for e in mine if _matches(e, flt)]
    if b.budget_type is BudgetType.TIME:
        computed = float(sum(e.duration_minutes for e in counted))
    else:
        pairs = [(e, rates.by_pair.get((b.project_gid, e.user_gid))) for e in counted]
        missing = sum(1 for _, r in pairs if r is None)
        if missing:
            return check("not reconciled", f"{missing} entries by people without a rate")
        computed = round(sum(e.duration_minutes / 60 * r.rate for e, r in pairs if r is not None), 2)
    actual = b.actual or 0.0
    unit = "minutes" if b.budget_type is BudgetType.TIME else (b.units or "")
    if abs(computed - actual) <= max(1.0, 0.005 * abs(actual)):
        return check("match", f"Asana's actual {actual:,.2f} {unit} matches the entries", computed)
    return check(
        "mismatch",
        f"Asana's actual is {actual:,.2f} {unit}, the stored entries give {computed:,.2f} "
        "(entries changed since the last sync, or entries outside the scope)",
        computed,
    )


def _matches(entry: TimeEntry, flt: str) -> bool:
    if flt == "any":
        return True
    if flt == "billable":
        return entry.billable_status is BillableStatus.BILLABLE
    return entry.billable_status in (BillableStatus.NON_BILLABLE, BillableStatus.NOT_APPLICABLE)


def _totals(lines: Sequence[BillingLine]) -> list[BillingTotal]:
    per_project: dict[tuple[str, str, str | None], tuple[int, Decimal | None]] = {}
    per_client: dict[tuple[str, str | None], tuple[int, Decimal | None]] = {}

    def add(line: BillingLine, prev: tuple[int, Decimal | None]) -> tuple[int, Decimal | None]:
        total = prev[1]
        if line.amount is not None:
            total = (total or Decimal(0)) + line.amount
        return (prev[0] + line.minutes, total)

    for line in lines:
        pk = (line.client, line.project_name, line.currency)
        per_project[pk] = add(line, per_project.get(pk, (0, None)))
        ck = (line.client, line.currency)
        per_client[ck] = add(line, per_client.get(ck, (0, None)))
    out = [
        BillingTotal(client=c, project_name=p, currency=cur, minutes=m, amount=a)
        for (c, p, cur), (m, a) in sorted(
            per_project.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
        )
    ]
    out += [
        BillingTotal(client=c, project_name=None, currency=cur, minutes=m, amount=a)
        for (c, cur), (m, a) in sorted(per_client.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    return out


def _hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


CSV_COLUMNS = (
    "client", "project", "task", "task_url", "hours", "minutes", "rate", "currency", "amount", "entries", "people",
)  # fmt: skip


def to_csv(draft: BillingDraft) -> str:
    """One row per line item (hours to 2 dp, exact minutes alongside)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ln in draft.lines:
        writer.writerow(
            [
                ln.client, ln.project_name, _csv_safe(ln.task_name), ln.permalink_url or "", ln.hours, ln.minutes,
                ln.hourly_rate if ln.hourly_rate is not None else "", ln.currency or "",
                ln.amount if ln.amount is not None else "", ln.entry_count, "; ".join(ln.people),
            ]
        )  # fmt: skip
    return buffer.getvalue()


def _csv_safe(text: str) -> str:
    """Defuse spreadsheet formula injection from task names."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(draft: BillingDraft) -> str:
    """A draft invoice per client: lines with task links, project subtotals, client totals."""
    out = [
        f"# Billing draft {draft.period_start} to {draft.period_end}",
        "",
        "_Draft only: nothing was sent._",
        "",
    ]
    for client in sorted({ln.client for ln in draft.lines}):
        out += [
            f"## {_md(client)}",
            "",
            "| project | task | hours | rate | amount |",
            "|---|---|---:|---:|---:|",
        ]
        for ln in (x for x in draft.lines if x.client == client):
            task = f"[{_md(ln.task_name)}]({ln.permalink_url})" if ln.permalink_url else _md(ln.task_name)
            rate = f"{ln.hourly_rate} {ln.currency or ''}".strip() if ln.hourly_rate is not None else "-"
            amount = f"{ln.amount}" if ln.amount is not None else "-"
            out.append(f"| {_md(ln.project_name)} | {task} | {_hm(ln.minutes)} | {rate} | {amount} |")
        for total in (t for t in draft.totals if t.client == client):
            label = (
                f"subtotal {_md(total.project_name)}" if total.project_name else f"**total {_md(client)}**"
            )
            amount = f"{total.amount} {total.currency or ''}".strip() if total.amount is not None else "-"
            out.append(f"| {label} | | {_hm(total.minutes)} | | {amount} |")
        out.append("")
    out.append(f"Total billable time: {_hm(draft.total_minutes)} ({draft.total_minutes} minutes)")
    for currency, money in draft.amount_by_currency.items():
        out.append(f"Total {currency}: {money}")
    for warning in draft.warnings:
        out.append(f"> warning: {warning}")
    return "\n".join(out) + "\n"


def to_json(draft: BillingDraft, *, indent: int | None = 2) -> str:
    """The whole draft as JSON (decimals as strings, so no float rounding on the way out)."""
    return json.dumps(draft.model_dump(mode="json"), indent=indent, ensure_ascii=False)


__all__ = [
    "BillingDraft",
    "BillingLine",
    "BillingTotal",
    "BudgetCheck",
    "billing_draft",
    "to_csv",
    "to_json",
    "to_markdown",
]
