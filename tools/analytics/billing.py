"""Billing drafts: billable hours by client and project for a period, one line per task.

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
from tools.records import BillableStatus, Project, Task, TimeEntry, Workspace

UNKNOWN_CLIENT = "(no client)"


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
    amount: Decimal | None  # None when the project has no rate (flagged, still listed)
    entry_count: int
    entry_gids: tuple[str, ...]
    people: tuple[str, ...]

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

    def entry_gids(self) -> list[str]:
        return [gid for line in self.lines for gid in line.entry_gids]


def _is_billable(
    entry: TimeEntry, task: Task | None, project: Project | None, projects_default: bool
) -> bool:
    """Entry status wins; else the task's billable flag; else a project with a client and a rate."""
    if entry.billable_status is BillableStatus.BILLABLE:
        return True
    if entry.billable_status is BillableStatus.NON_BILLABLE:
        return False
    if task is not None and task.billable is not None:
        return task.billable
    return bool(projects_default and project is not None and project.client and project.hourly_rate)


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

    ``already_billed`` entry gids (from earlier drafts that were sent) are left out, so re-running a
    period never bills an entry twice.
    """
    tasks = {t.gid: t for t in workspace.tasks}
    projects = {p.gid: p for p in workspace.projects}
    people = {p.gid: p.name for p in workspace.people}
    billed = set(already_billed)
    client_filter = {c.lower() for c in clients} if clients else None
    project_filter = set(project_gids) if project_gids else None
    excluded: dict[str, int] = {}
    seen: set[str] = set()
    groups: dict[tuple[str | None, str], list[TimeEntry]] = {}

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
        if not _is_billable(entry, task, project, project_billable_by_default):
            skip("not billable")
            continue
        if entry.duration_minutes <= 0:
            skip("zero or negative duration")
            continue
        if project_filter is not None and project_gid not in project_filter:
            skip("project not selected")
            continue
        client = (project.client if project else None) or UNKNOWN_CLIENT
        if client_filter is not None and client.lower() not in client_filter:
            skip("client not selected")
            continue
        groups.setdefault((project_gid, entry.task_gid), []).append(entry)

    lines: list[BillingLine] = []
    warnings: list[str] = []
    for (project_gid, task_gid), entries in groups.items():
        project = projects.get(project_gid) if project_gid else None
        task = tasks.get(task_gid)
        minutes = sum(e.duration_minutes for e in entries)
        rate = Decimal(str(project.hourly_rate)) if project and project.hourly_rate is not None else None
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
                currency=project.currency if project else None,
                amount=amount,
                entry_count=len(entries),
                entry_gids=tuple(sorted(e.gid for e in entries)),
                people=tuple(sorted({people.get(e.user_gid or "", e.user_gid or "?") for e in entries})),
            )
        )
    lines.sort(key=lambda ln: (ln.client, ln.project_name, ln.task_name, ln.task_gid))
    no_rate = sorted({ln.project_name for ln in lines if ln.amount is None})
    if no_rate:
        warnings.append(f"no hourly rate for: {', '.join(no_rate[:10])} (hours listed, no amount)")
    if any(ln.task_name == "(unknown task)" for ln in lines):
        warnings.append("some entries belong to tasks that are not in the store (listed as unknown task)")
    totals = _totals(lines)
    by_currency: dict[str, Decimal] = {}
    for line in lines:
        if line.amount is not None:
            key = line.currency or "?"
            by_currency[key] = by_currency.get(key, Decimal(0)) + line.amount
    return BillingDraft(
        period_start=period_start,
        period_end=period_end,
        lines=lines,
        totals=totals,
        total_minutes=sum(ln.minutes for ln in lines),
        amount_by_currency=dict(sorted(by_currency.items())),
        warnings=warnings,
        excluded_entries=dict(sorted(excluded.items())),
    )


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
    "billing_draft",
    "to_csv",
    "to_json",
    "to_markdown",
]
