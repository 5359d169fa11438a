"""Timesheet drafts through the approval gate: the person confirms, then the one writer logs the time.

A draft becomes one ``TIME_ENTRY`` proposal per line that names a task (a meeting without a task needs
one first) on the person's approval thread for that week (``thread_id_for("timesheet", person, week)``),
so it shows in `effort approvals`, an Agent Inbox and the MCP tools like every other batch, and survives
restarts. Deciding it is `effort timesheet approve|edit|reject`: the approver must be the person, or
their lead (``[timesheets] leads``), and the writer's guard checks that again before every entry. Asana
records an entry as the user whose token creates it, so the entries are created only with the person's
own token (checked against ``/users/me`` before any write). The
entries it creates carry the ``[effort:<proposal id>]`` marker in their description, so `effort
rollback RUN_ID` deletes exactly those and nothing a person logged. An edit (time entries are not
edited inside the gate) rejects the waiting batch and proposes the corrected one on the next revision
thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from agent.approvals_service import PendingApproval, decisions_for, list_pending, resume
from agent.checkpoint import thread_id_for
from agent.config import Settings
from tools.analytics.calendar import resolve_person
from tools.analytics.timesheet import DraftLine, TimesheetDraft, TimesheetError
from tools.proposals import Proposal, ProposalKind, TimeEntryDraft
from tools.records import Person
from tools.scope import key as name_key

KIND = "timesheet"
MAX_REVISIONS = 50


def proposal_for(draft: TimesheetDraft, line: DraftLine) -> Proposal:
    """One draft line as a time-entry proposal (the line must name a task)."""
    if line.task_gid is None:
        raise TimesheetError(f"the line on {line.entered_on} ({line.task_name}) names no task")
    reasons = "; ".join(line.reasons)[:400]
    return Proposal(
        kind=ProposalKind.TIME_ENTRY,
        target_gid=line.task_gid,
        project_gid=line.project_gid,
        text=f"Drafted by Effort Copilot from your Asana activity ({line.confidence} confidence: {reasons}).",
        description=(
            f"{draft.person_name}: {line.minutes / 60:.2f} h on {line.entered_on.isoformat()} "
            f"({line.entered_on:%a}) to {line.task_name[:120]}"
        ),
        evidence={
            "week": draft.week,
            "confidence": line.confidence,
            "reasons": list(line.reasons)[:4],
            "usual_day_minutes": draft.usual_day_minutes,
        },
        source=KIND,
        entry=TimeEntryDraft(
            person_gid=draft.person_gid,
            entered_on=line.entered_on,
            duration_minutes=line.minutes,
            attributable_to=line.project_gid,
        ),
    )


def proposals_for(draft: TimesheetDraft) -> list[Proposal]:
    return [proposal_for(draft, line) for line in draft.lines if line.task_gid is not None]


def thread_for(person_gid: str, week: str, revision: int = 0) -> str:
    return thread_id_for(KIND, person_gid, week if revision == 0 else f"{week}#r{revision}")


@dataclass(frozen=True)
class WaitingDraft:
    """A draft waiting for its person: the pending batch and which revision it is."""

    pending: PendingApproval
    revision: int

    @property
    def proposals(self) -> list[Proposal]:
        return self.pending.proposals


def waiting_draft(checkpointer: Any, person_gid: str, week: str) -> WaitingDraft | None:
    """The newest waiting batch of this person's draft for this week, if any."""
    threads = {thread_for(person_gid, week, r): r for r in range(MAX_REVISIONS)}
    found = [
        WaitingDraft(p, threads[p.thread_id]) for p in list_pending(checkpointer) if p.thread_id in threads
    ]
    return max(found, key=lambda w: w.revision) if found else None


def next_revision(checkpointer: Any, person_gid: str, week: str) -> int:
    """The first revision whose thread has never been used (a decided draft is never reopened)."""
    for revision in range(MAX_REVISIONS):
        config = {"configurable": {"thread_id": thread_for(person_gid, week, revision), "checkpoint_ns": ""}}
        if checkpointer.get_tuple(config) is None:
            return revision
    raise TimesheetError(f"more than {MAX_REVISIONS} drafts for {week}: decide the waiting one first")


def submit(checkpointer: Any, draft: TimesheetDraft) -> tuple[str, list[Proposal]]:
    """Leave the draft waiting for its person's approval; returns (thread id, proposals). Proposing the
    same draft again finds it waiting; a different one for a week that already waits is refused (edit or
    reject the waiting one first)."""
    from agent.serve.wiring import GateProposer

    proposals = proposals_for(draft)
    if not proposals:
        raise TimesheetError("the draft has no line with a task: nothing to approve")
    waiting = waiting_draft(checkpointer, draft.person_gid, draft.week)
    if waiting is not None:
        if {p.id for p in waiting.proposals} == {p.id for p in proposals}:
            return waiting.pending.thread_id, waiting.proposals
        raise TimesheetError(
            f"a draft for {draft.week} already waits ({len(waiting.proposals)} lines, thread "
            f"{waiting.pending.thread_id}): approve, edit or reject it first"
        )
    revision = next_revision(checkpointer, draft.person_gid, draft.week)
    period = draft.week if revision == 0 else f"{draft.week}#r{revision}"
    thread = GateProposer(checkpointer)(proposals, kind=KIND, scope=draft.person_gid, period=period)
    return thread, proposals


def lead_identities(settings: Settings, people: Sequence[Person]) -> dict[str, list[str]]:
    """``[timesheets] leads`` resolved: person gid -> every identity of their lead (what was written,
    and the lead's gid, name and email when the lead is a synced person). The writer takes this."""
    out: dict[str, list[str]] = {}
    for person_ref, lead_ref in settings.timesheets.leads.items():
        gid = resolve_person(person_ref, people)
        if gid is None:
            continue
        lead_gid = resolve_person(lead_ref, people)
        lead = next((p for p in people if p.gid == lead_gid), None)
        ids = [lead_ref] + ([lead.gid, lead.name] + ([lead.email] if lead.email else []) if lead else [])
        out.setdefault(gid, []).extend(ids)
    return out


def may_approve(person: Person, approver: str, leads: Mapping[str, Sequence[str]]) -> bool:
    """The person themselves (gid, name or email, any case) or one of their leads. The writer's guard
    enforces this on every entry; asking first keeps a wrong approver from closing the batch."""
    allowed = {name_key(x) for x in (person.gid, person.name, person.email or "") if x}
    allowed |= {name_key(x) for x in leads.get(person.gid, ())}
    return name_key(approver) in allowed


def _check_token_user(gateway: Any, person: Person) -> None:
    """Asana logs an entry as the user whose token creates it (the create body has no "for whom"), so
    entries for a person can only be created with that person's own token: anything else would count
    their time as someone else's. Refused before any write."""
    me = gateway.me()
    if me.gid != person.gid:
        raise TimesheetError(
            f"Asana logs a time entry as the user whose access token creates it; this token belongs to "
            f"{me.name or me.gid}, so {person.name}'s entries would count as {me.name or me.gid}'s time. "
            f"Approve with {person.name}'s own token (ASANA_ACCESS_TOKEN); nothing was written"
        )


def decide(
    settings: Settings,
    store: Any,
    checkpointer: Any,
    waiting: WaitingDraft,
    action: Literal["approve", "reject"],
    *,
    approver: str,
    lines: Sequence[int] | None = None,
    note: str | None = None,
    gateway: Any | None = None,
) -> list[dict[str, Any]]:
    """Approve (all lines, or the numbered ones; the rest are rejected) or reject the waiting draft."""
    from agent.writer import writer_from_settings

    proposals = waiting.proposals
    person_gid = proposals[0].entry.person_gid if proposals[0].entry else ""
    people = store.people()
    person = next((p for p in people if p.gid == person_gid), None)
    if person is None:
        raise TimesheetError(f"the draft's person {person_gid} is not in the store")
    if action == "approve" and not may_approve(person, approver, lead_identities(settings, people)):
        raise TimesheetError(
            f"{approver!r} may not approve {person.name}'s time: only {person.name} (or their lead under "
            "[timesheets] leads) can; nothing was written"
        )
    bad = [n for n in lines or () if not 1 <= n <= len(proposals)]
    if bad:
        raise TimesheetError(f"line(s) {bad} are not in this draft (1 to {len(proposals)})")
    items = [str(n) for n in lines] if lines else None
    decisions = decisions_for(waiting.pending, action, approver=approver, items=items, note=note)
    writer = writer_from_settings(settings, store=store, gateway=gateway)
    if action == "approve" and settings.phase.writes:
        _check_token_user(writer.gateway, person)
    out = resume(
        checkpointer, waiting.pending, decisions, writer=writer, settings=settings, approver=approver
    )
    return [a for a in out.get("applied") or [] if isinstance(a, dict)]


def edit(
    settings: Settings,
    store: Any,
    checkpointer: Any,
    waiting: WaitingDraft,
    line: int,
    *,
    approver: str,
    minutes: int | None = None,
    task_gid: str | None = None,
    day: date | None = None,
) -> tuple[str, list[Proposal]]:
    """Change one line (hours, task or day) before approval: the waiting batch is rejected ("replaced by
    an edit") and the corrected draft waits on the next revision thread."""
    proposals = list(waiting.proposals)
    if not 1 <= line <= len(proposals):
        raise TimesheetError(f"line {line} is not in this draft (1 to {len(proposals)})")
    old = proposals[line - 1]
    assert old.entry is not None
    if minutes is not None and not 0 < minutes <= 24 * 60:
        raise TimesheetError(f"{minutes} minutes is not a time entry (1 to 1440)")
    task = store.task(task_gid) if task_gid else None
    if task_gid and task is None:
        raise TimesheetError(f"no synced task {task_gid}")
    entry = old.entry.model_copy(
        update={
            k: v
            for k, v in {
                "duration_minutes": minutes,
                "entered_on": day,
                "attributable_to": task.project_gid if task else None,
            }.items()
            if v is not None
        }
    )
    changed = old.model_copy(
        update={
            "entry": entry,
            "target_gid": task.gid if task else old.target_gid,
            "project_gid": task.project_gid if task else old.project_gid,
            "description": f"{old.description} (edited by {approver})",
        }
    )
    proposals[line - 1] = Proposal.model_validate(changed.model_dump())
    decide(settings, store, checkpointer, waiting, "reject", approver=approver, note="replaced by an edit")
    from agent.serve.wiring import GateProposer

    week = str(old.evidence.get("week"))
    revision = next_revision(checkpointer, old.entry.person_gid, week)
    thread = GateProposer(checkpointer)(
        proposals, kind=KIND, scope=old.entry.person_gid, period=f"{week}#r{revision}"
    )
    return thread, proposals


def weekly_drafts(
    settings: Settings,
    store: Any,
    checkpointer: Any,
    *,
    notify: Any | None = None,
    gateway: Any | None = None,
) -> dict[str, Any]:
    """`effort serve`'s weekly job: last week's draft for everyone who logged time lately, each left
    waiting for its person (nothing is written) and, with ``[timesheets] deliver = "slack"`` and a
    Slack webhook, sent to them with the command that approves it. Returns a summary."""
    from datetime import UTC, datetime, time

    from agent.timesheets import build_draft, people_to_draft, render_text
    from tools.analytics.timesheet import parse_week

    today = settings.today()
    monday, week = parse_week("last-week", today)
    workspace = store.workspace(as_of=datetime.combine(today, time.max, UTC))
    summary: dict[str, Any] = {"week": week, "drafted": [], "skipped": {}, "delivered": 0}
    for person in people_to_draft(workspace, monday):
        try:
            draft = build_draft(settings, store, person.gid, week, gateway=gateway, workspace=workspace)
            if not any(x.task_gid for x in draft.lines):
                summary["skipped"][person.name] = "nothing to add"
                continue
            thread, _ = submit(checkpointer, draft)
        except TimesheetError as exc:
            summary["skipped"][person.name] = str(exc)[:160]
            continue
        summary["drafted"].append({"person": person.name, "thread": thread, "minutes": draft.drafted_minutes})
        if settings.timesheets.deliver == "slack" and notify is not None:
            command = f'effort timesheet approve --person "{person.name}" --week {week}'
            if notify(f"{render_text(draft)}\nApprove it (with your own Asana token): {command}"):
                summary["delivered"] += 1
    return summary


__all__ = [
    "KIND",
    "WaitingDraft",
    "decide",
    "edit",
    "lead_identities",
    "may_approve",
    "next_revision",
    "proposal_for",
    "proposals_for",
    "submit",
    "thread_for",
    "waiting_draft",
    "weekly_drafts",
]
