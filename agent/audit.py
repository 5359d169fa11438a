"""Append-only audit log: every proposal, decision, write, refusal and rollback, one row each.

The log lives in the store's database (its own SQLAlchemy ``MetaData``, so it works on SQLite and
PostgreSQL alike) and has no UPDATE or DELETE API: a later state of a proposal is a new row, and the
current state of anything is "its newest row". Every text value passes through the redactor before it
is stored, so an access token can never land in a row even if an error message carried one.

The same module stores what the analytics consume from human decisions: ``FeedbackRecord`` (an
anomaly confirmed or dismissed) and edited estimates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection, Engine

from tools.analytics.anomalies import AnomalyKind, DetectorFeedback
from tools.proposals import Decision, DecisionType, Proposal
from tools.redact import Redactor

METADATA = sa.MetaData()


class AuditStatus(StrEnum):
    """The lifecycle of one proposal (and of each write it causes)."""

    PROPOSED = "proposed"
    APPROVED = "approved"  # recorded BEFORE the write; an approved row without a later final row = to do
    REJECTED = "rejected"
    EDITED = "edited"  # approved with a human-edited value (also recorded before the write)
    APPLIED = "applied"
    STALE = "stale"  # the current value moved since the proposal: refused, to be re-proposed
    SKIPPED = "skipped"  # nothing to do (task deleted, no decision, already rolled back)
    REFUSED = "refused"  # a guard said no (phase, scope, field, approval, 403); final
    FAILED = "failed"  # transient error: the write may be retried by `effort approvals resume`
    ROLLED_BACK = "rolled_back"


# Statuses after which a proposal needs nothing more from the writer.
FINAL_STATUSES = frozenset(
    {
        AuditStatus.REJECTED,
        AuditStatus.APPLIED,
        AuditStatus.STALE,
        AuditStatus.SKIPPED,
        AuditStatus.REFUSED,
        AuditStatus.ROLLED_BACK,
    }
)
APPROVAL_STATUSES = frozenset({AuditStatus.APPROVED, AuditStatus.EDITED})


class AuditAction(StrEnum):
    DECISION = "decision"  # a human decision on a proposal
    WRITE = "write"  # the proposal's own write (field, comment, subtask, summary task)
    CREATE_FIELD = "create_field"  # an AI custom field created on first use
    ATTACH_FIELD = "attach_field"  # an AI custom field added to a project
    APPROVAL_REQUEST = "approval_request"  # an Asana approval subtask created for a significant change
    ROLLBACK = "rollback"
    WEBHOOK = "webhook"  # an operator's `effort webhooks register|delete` (no task data changes)


audit_table = sa.Table(
    "audit_log",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.String(128), nullable=True, index=True),
    sa.Column("thread_id", sa.String(256), nullable=True, index=True),
    sa.Column("proposal_id", sa.String(64), nullable=True, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=True),
    sa.Column("target_gid", sa.String(64), nullable=True),
    sa.Column("project_gid", sa.String(64), nullable=True),
    sa.Column("field_name", sa.String(128), nullable=True),
    sa.Column("proposal", sa.Text, nullable=True),
    sa.Column("evidence", sa.Text, nullable=True),
    sa.Column("decision", sa.Text, nullable=True),
    sa.Column("approver", sa.String(256), nullable=True),
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
)

feedback_table = sa.Table(
    "audit_detector_feedback",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("person_gid", sa.String(64), nullable=True, index=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("confirmed_normal", sa.Boolean, nullable=False),
    sa.Column("task_gid", sa.String(64), nullable=True),
    sa.Column("entry_gid", sa.String(64), nullable=True),
    sa.Column("proposal_id", sa.String(64), nullable=True),
    sa.Column("approver", sa.String(256), nullable=True),
)


class AuditEntry(BaseModel):
    """One row of the audit log, decoded."""

    model_config = ConfigDict(frozen=True)

    id: int
    ts: datetime
    run_id: str | None
    thread_id: str | None
    proposal_id: str | None
    action: AuditAction
    status: AuditStatus
    kind: str | None = None
    target_gid: str | None = None
    project_gid: str | None = None
    field_name: str | None = None
    proposal: dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    approver: str | None = None
    before: Any = None
    after: Any = None
    error: str | None = None

    def proposal_model(self) -> Proposal | None:
        """The stored proposal, validated again (a row is data, not trusted code)."""
        return Proposal.model_validate(self.proposal) if self.proposal else None

    def decision_model(self) -> Decision | None:
        return Decision.model_validate(self.decision) if self.decision else None


class FeedbackRecord(BaseModel):
    """A human's verdict on a flagged time-entry pattern, with its provenance; the anomaly detector
    learns from it (``for_detector``).

    ``confirmed_normal=True``: the person dismissed the flag (this pattern is normal for them);
    ``False``: they confirmed it as a real outlier.
    """

    model_config = ConfigDict(frozen=True)

    person_gid: str | None
    kind: str
    confirmed_normal: bool
    task_gid: str | None = None
    entry_gid: str | None = None
    proposal_id: str | None = None
    approver: str | None = None
    ts: datetime | None = None

    def for_detector(self) -> DetectorFeedback | None:
        """The detector's view of this verdict, or None when it names no person or an unknown pattern."""
        if not self.person_gid or self.kind not in {k.value for k in AnomalyKind}:
            return None
        return DetectorFeedback(
            person_gid=self.person_gid, kind=AnomalyKind(self.kind), confirmed_normal=self.confirmed_normal
        )


class EstimateEdit(BaseModel):
    """An AI estimate a human edited before approving it (the estimator's calibration signal)."""

    model_config = ConfigDict(frozen=True)

    task_gid: str
    field_name: str
    proposed: float | str | None
    edited: float | str | None
    approver: str | None
    ts: datetime


def _jsonable(value: Any) -> Any:
    """Make a value JSON-safe: NaN/inf become strings rather than invalid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditLog:
    """Append-only access to the audit tables. Construct with the store's engine."""

    def __init__(self, engine: Engine, redactor: Redactor | None = None) -> None:
        self.engine = engine
        self.redactor = redactor or Redactor()
        from agent.claims import create_tables

        create_tables(METADATA, engine)

    @classmethod
    def open(cls, url: str, redactor: Redactor | None = None) -> AuditLog:
        """Open (and create if needed) the audit tables at a SQLAlchemy URL."""
        return cls(sa.create_engine(url, future=True), redactor)

    # --- encoding -----------------------------------------------------------------------------------
    def _text(self, value: str | None) -> str | None:
        return None if value is None else self.redactor(str(value))

    def _json(self, value: Any) -> str | None:
        if value is None:
            return None
        return self.redactor(json.dumps(_jsonable(value), default=str, sort_keys=True))

    # --- writes (append only) -----------------------------------------------------------------------
    def record(
        self,
        *,
        action: AuditAction,
        status: AuditStatus,
        proposal: Proposal | None = None,
        decision: Decision | None = None,
        run_id: str | None = None,
        thread_id: str | None = None,
        proposal_id: str | None = None,
        approver: str | None = None,
        before: Any = None,
        after: Any = None,
        error: str | None = None,
        target_gid: str | None = None,
        field_name: str | None = None,
        conn: Connection | None = None,
    ) -> AuditEntry:
        """Append one row and return it decoded. Never updates an existing row. With ``conn``, the row
        is part of the caller's transaction (the writer completes its claim in the same one)."""
        pid = proposal_id or (proposal.id if proposal is not None else None)
        values: dict[str, Any] = {
            "ts": datetime.now(UTC),
            "run_id": self._text(run_id),
            "thread_id": self._text(thread_id),
            "proposal_id": pid,
            "action": action.value,
            "status": status.value,
            "kind": proposal.kind.value if proposal is not None else None,
            "target_gid": target_gid or (proposal.target_gid if proposal is not None else None),
            "project_gid": proposal.project_gid if proposal is not None else None,
            "field_name": field_name or (proposal.field_name if proposal is not None else None),
            "proposal": self._json(proposal.model_dump(mode="json")) if proposal is not None else None,
            "evidence": self._json(proposal.evidence) if proposal is not None else None,
            "decision": self._json(decision.model_dump(mode="json")) if decision is not None else None,
            "approver": self._text(approver or (decision.approver if decision is not None else None)),
            "before": self._json(before),
            "after": self._json(after),
            "error": self._text(error),
        }
        if conn is not None:
            new_id = conn.execute(sa.insert(audit_table).values(**values)).inserted_primary_key
        else:
            with self.engine.begin() as own:
                new_id = own.execute(sa.insert(audit_table).values(**values)).inserted_primary_key
        assert new_id is not None
        return self._decode({**values, "id": int(new_id[0])})

    def record_feedback(self, feedback: FeedbackRecord) -> None:
        """Append a detector verdict."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(feedback_table).values(
                    ts=feedback.ts or datetime.now(UTC),
                    person_gid=feedback.person_gid,
                    kind=self.redactor(feedback.kind),
                    confirmed_normal=feedback.confirmed_normal,
                    task_gid=feedback.task_gid,
                    entry_gid=feedback.entry_gid,
                    proposal_id=feedback.proposal_id,
                    approver=self._text(feedback.approver),
                )
            )

    # --- reads --------------------------------------------------------------------------------------
    def _decode(self, row: Any) -> AuditEntry:
        data = dict(row)

        def load(key: str) -> Any:
            raw = data.get(key)
            return None if raw is None else json.loads(raw)

        return AuditEntry(
            id=data["id"],
            ts=_utc(data["ts"]),
            run_id=data["run_id"],
            thread_id=data["thread_id"],
            proposal_id=data["proposal_id"],
            action=AuditAction(data["action"]),
            status=AuditStatus(data["status"]),
            kind=data["kind"],
            target_gid=data["target_gid"],
            project_gid=data["project_gid"],
            field_name=data["field_name"],
            proposal=load("proposal"),
            evidence=load("evidence"),
            decision=load("decision"),
            approver=data["approver"],
            before=load("before"),
            after=load("after"),
            error=data["error"],
        )

    def entries(
        self,
        *,
        run_id: str | None = None,
        thread_id: str | None = None,
        proposal_id: str | None = None,
        statuses: Iterable[AuditStatus] | None = None,
        actions: Iterable[AuditAction] | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Rows matching every given filter, oldest first."""
        query = sa.select(audit_table).order_by(audit_table.c.id)
        if run_id is not None:
            query = query.where(audit_table.c.run_id == run_id)
        if thread_id is not None:
            query = query.where(audit_table.c.thread_id == thread_id)
        if proposal_id is not None:
            query = query.where(audit_table.c.proposal_id == proposal_id)
        if statuses is not None:
            query = query.where(audit_table.c.status.in_([s.value for s in statuses]))
        if actions is not None:
            query = query.where(audit_table.c.action.in_([a.value for a in actions]))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [self._decode(row._mapping) for row in conn.execute(query)]

    def latest(
        self, proposal_id: str, *, thread_id: str | None = None, action: AuditAction | None = None
    ) -> AuditEntry | None:
        """The newest row for a proposal (optionally within one thread / one action)."""
        query = sa.select(audit_table).where(audit_table.c.proposal_id == proposal_id)
        if thread_id is not None:
            query = query.where(audit_table.c.thread_id == thread_id)
        if action is not None:
            query = query.where(audit_table.c.action == action.value)
        query = query.order_by(audit_table.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return self._decode(row._mapping) if row is not None else None

    def approval_record(self, proposal_id: str, *, thread_id: str | None) -> AuditEntry | None:
        """The approval (approved / edited decision) for this exact proposal id in this thread, if any.

        Only the newest decision counts: an approval that was later rejected is no approval.
        """
        latest = self.latest(proposal_id, thread_id=thread_id, action=AuditAction.DECISION)
        if latest is None or latest.status not in APPROVAL_STATUSES:
            return None
        return latest

    def unfinished(self, *, run_id: str | None = None, thread_id: str | None = None) -> list[AuditEntry]:
        """Approved decisions whose write has no final row yet (crash or transient failure)."""
        rows = self.entries(run_id=run_id, thread_id=thread_id)
        decisions: dict[tuple[str | None, str], AuditEntry] = {}
        done: set[tuple[str | None, str]] = set()
        for row in rows:
            if row.proposal_id is None:
                continue
            key = (row.thread_id, row.proposal_id)
            if row.action is AuditAction.DECISION:
                decisions[key] = row
                done.discard(key)  # a newer decision re-opens the item
            elif row.action is AuditAction.WRITE and row.status in FINAL_STATUSES:
                done.add(key)
        return [
            entry for key, entry in decisions.items() if entry.status in APPROVAL_STATUSES and key not in done
        ]

    def owned_fields(self) -> dict[str, set[str]]:
        """Field name -> gids of the custom fields the agent created (its ``create_field`` rows, which
        record the gid Asana returned). Ownership is proven by this record, never by a name: a human's
        field called "AI Estimated Hours" is not the agent's."""
        owned: dict[str, set[str]] = {}
        rows = self.entries(actions=[AuditAction.CREATE_FIELD], statuses=[AuditStatus.APPLIED])
        for row in rows:
            gid = row.after.get("field_gid") if isinstance(row.after, dict) else None
            if row.field_name and gid:
                owned.setdefault(row.field_name, set()).add(str(gid))
        return owned

    def detector_feedback(self) -> list[DetectorFeedback]:
        """Every verdict the anomaly detector can learn from (confirmed outliers, dismissed flags)."""
        return [f for f in (r.for_detector() for r in self.feedback()) if f is not None]

    def feedback(self, person_gid: str | None = None) -> list[FeedbackRecord]:
        """Every detector verdict, oldest first (optionally for one person)."""
        query = sa.select(feedback_table).order_by(feedback_table.c.id)
        if person_gid is not None:
            query = query.where(feedback_table.c.person_gid == person_gid)
        with self.engine.connect() as conn:
            return [
                FeedbackRecord(
                    person_gid=r.person_gid,
                    kind=r.kind,
                    confirmed_normal=bool(r.confirmed_normal),
                    task_gid=r.task_gid,
                    entry_gid=r.entry_gid,
                    proposal_id=r.proposal_id,
                    approver=r.approver,
                    ts=_utc(r.ts),
                )
                for r in conn.execute(query)
            ]

    def estimate_edits(self) -> list[EstimateEdit]:
        """Every estimate-field proposal a human edited before approving."""
        out: list[EstimateEdit] = []
        for row in self.entries(statuses=[AuditStatus.EDITED], actions=[AuditAction.DECISION]):
            if not row.field_name or not row.target_gid or row.proposal is None or row.decision is None:
                continue
            if "Estimate" not in row.field_name:
                continue
            out.append(
                EstimateEdit(
                    task_gid=row.target_gid,
                    field_name=row.field_name,
                    proposed=row.proposal.get("value"),
                    edited=row.decision.get("edited_value"),
                    approver=row.approver,
                    ts=row.ts,
                )
            )
        return out


def feedback_from_decision(proposal: Proposal, decision: Decision) -> FeedbackRecord | None:
    """A detector verdict when the proposal flags an anomaly (``evidence['anomaly']``), else None.

    Accepting the flag confirms the outlier; ignoring it says the pattern is normal for that person.
    """
    anomaly = proposal.evidence.get("anomaly") if isinstance(proposal.evidence, dict) else None
    if not isinstance(anomaly, dict) or decision.type not in (DecisionType.ACCEPT, DecisionType.IGNORE):
        return None
    kind = anomaly.get("kind") or anomaly.get("pattern")
    if not kind:
        return None
    return FeedbackRecord(
        person_gid=anomaly.get("person_gid"),
        kind=str(kind),
        confirmed_normal=decision.type is DecisionType.IGNORE,
        task_gid=anomaly.get("task_gid") or proposal.target_gid,
        entry_gid=anomaly.get("entry_gid"),
        proposal_id=proposal.id,
        approver=decision.approver,
    )


def summarize(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """Compact dicts for graph state (``ChatState.applied``) and CLI output."""
    return [
        {
            "proposal_id": e.proposal_id,
            "status": e.status.value,
            "action": e.action.value,
            "target_gid": e.target_gid,
            "field_name": e.field_name,
            "before": e.before,
            "after": e.after,
            "error": e.error,
        }
        for e in entries
    ]
