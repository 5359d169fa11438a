"""How a batch looks to a person: items grouped per task, with names and links, rendered as Markdown;
and the one-line summary printed after every decision.

Links point at the configured Asana (``settings.asana_base_url``'s host), so a sandbox batch links to
the sandbox, not to app.asana.com.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from agent.approval import action_title
from agent.approvals_service import PendingApproval
from agent.asana_approvals import needs_asana_approval
from agent.config import Settings
from tools.links import asana_web_root, task_link
from tools.proposals import Decision, DecisionType, Proposal, ProposalKind
from tools.store import Store

_SHOWN_EVIDENCE = (
    "basis",
    "reason",
    "variance_pct",
    "score",
    "kind",
    "human_estimate_hours",
    "planned_hours",
)


def asana_link(settings: Settings, task_gid: str, project_gid: str | None = None) -> str:
    """A link on the configured Asana (THE link rule, tools/links.py): ``/0/<project>/<task>``, and for
    a project ``/0/<project>/<project>`` as Asana links a project's list."""
    root = asana_web_root(settings.asana_base_url)
    permalink = f"https://app.asana.com/0/{project_gid}/{task_gid}" if project_gid else None
    return task_link(root, task_gid, permalink) or ""


class Names:
    """Task and project names from the local store (gids where the store does not know them)."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.projects = {p.gid: p.name for p in store.projects()} if store is not None else {}
        self._tasks: dict[str, tuple[str, str | None]] = {}

    def task(self, gid: str) -> tuple[str, str | None]:
        """(name, project gid) of a task."""
        if gid not in self._tasks:
            task = self.store.task(gid) if self.store is not None else None
            self._tasks[gid] = (task.name, task.project_gid) if task is not None else (f"task {gid}", None)
        return self._tasks[gid]

    def project(self, gid: str | None) -> str:
        return self.projects.get(gid or "", f"project {gid}") if gid else "no project"


def _target(p: Proposal, names: Names, settings: Settings) -> tuple[str, str, str]:
    """(group key, heading, link) of the thing a proposal changes."""
    if p.kind is ProposalKind.SUMMARY_TASK:
        name = names.project(p.target_gid)
        return p.target_gid, f"Project {name}", asana_link(settings, p.target_gid, p.target_gid)
    task, project = names.task(p.target_gid)
    return p.target_gid, f"{task} — {names.project(project)}", asana_link(settings, p.target_gid, project)


def _evidence(p: Proposal) -> str:
    shown = [
        f"{k}: {p.evidence[k]}" for k in _SHOWN_EVIDENCE if isinstance(p.evidence.get(k), str | int | float)
    ]
    return " · ".join(shown[:3])


def _item_line(n: int, p: Proposal, settings: Settings) -> str:
    body = (p.text or "").strip().replace("\n", " ")
    quoted = f"“{body[:160]}{'…' if len(body) > 160 else ''}”"
    description = p.description
    if p.kind is ProposalKind.SET_FIELD:
        before = p.evidence.get("before")
        what = f"Set {p.field_name} to {p.value!r} (now: {'empty' if before is None else before})"
        if p.field_name and p.field_name in description:
            description = ""  # "AI Estimated Hours 9.6 for 'X'" says it again
    elif p.kind is ProposalKind.COMMENT:
        what = f"Comment {quoted}"
    elif p.kind in (ProposalKind.SUBTASK, ProposalKind.SUMMARY_TASK):
        what = f"{'Subtask' if p.kind is ProposalKind.SUBTASK else 'Summary task'} '{p.title}': {quoted}"
    else:
        what = action_title(p)
    extra = [x for x in (description, _evidence(p), f"from {p.source}") if x]
    if needs_asana_approval(p, settings):
        extra.append("needs the lead's Asana approval subtask")
    return f"{n}. **{what}** — {' · '.join(extra)} `{p.id}`"


def render_pending(pending: PendingApproval, settings: Settings, names: Names) -> str:
    """The batch as Markdown, items grouped per task in first-seen order, numbered as `--items` takes them."""
    significant = sum(needs_asana_approval(p, settings) for p in pending.proposals)
    when = pending.created_at.strftime("%Y-%m-%d %H:%M UTC") if pending.created_at else "unknown"
    lines = [
        f"# Approval `{pending.thread_id}`",
        f"{pending.graph} run `{pending.run_id or '-'}` · {len(pending.proposals)} item(s)"
        + (f" ({significant} also need the lead's Asana approval)" if significant else "")
        + f" · waiting since {when}",
        "",
        f"Decide: `effort approvals approve {pending.thread_id} [--items 1,3]` · "
        f"`effort approvals reject {pending.thread_id}` · "
        f"`effort approvals edit {pending.thread_id} --item N --value V`",
    ]
    groups: dict[str, list[tuple[int, Proposal]]] = {}
    heads: dict[str, tuple[str, str]] = {}
    for n, p in enumerate(pending.proposals, start=1):
        key, heading, link = _target(p, names, settings)
        groups.setdefault(key, []).append((n, p))
        heads.setdefault(key, (heading, link))
    for key, items in groups.items():
        heading, link = heads[key]
        lines += ["", f"## [{heading}]({link})", ""]
        lines += [_item_line(n, p, settings) for n, p in items]
    return "\n".join(lines)


def pending_json(pending: PendingApproval, settings: Settings, names: Names) -> dict[str, Any]:
    items = []
    for n, p in enumerate(pending.proposals, start=1):
        _key, heading, link = _target(p, names, settings)
        items.append(
            {
                "n": n,
                "proposal_id": p.id,
                "kind": p.kind.value,
                "action": action_title(p),
                "target": heading,
                "link": link,
                "needs_asana_approval": needs_asana_approval(p, settings),
                "proposal": p.model_dump(mode="json"),
                "request": pending.items[n - 1] if n - 1 < len(pending.items) else None,
            }
        )
    return {
        "id": pending.thread_id,
        "graph": pending.graph,
        "run_id": pending.run_id,
        "created_at": pending.created_at.isoformat() if pending.created_at else None,
        "items": items,
    }


# --- after a decision -------------------------------------------------------------------------------
PROBLEMS = frozenset({"refused", "failed", "stale"})


def decision_summary(
    decisions: Sequence[Decision], results: Sequence[Mapping[str, Any]], *, note: str | None = None
) -> str:
    """ "approved 12, rejected 2 of 14 item(s) → 11 applied, 1 stale. Note: …"."""
    asked = Counter(
        "edited"
        if d.type is DecisionType.EDIT
        else "approved"
        if d.type is DecisionType.ACCEPT
        else "rejected"
        for d in decisions
    )
    decided = ", ".join(f"{word} {asked[word]}" for word in ("approved", "edited", "rejected") if asked[word])
    approved_ids = {d.proposal_id for d in decisions if d.type in (DecisionType.ACCEPT, DecisionType.EDIT)}
    outcome = Counter(str(r.get("status")) for r in results if r.get("proposal_id") in approved_ids)
    done = ", ".join(f"{n} {status}" for status, n in sorted(outcome.items(), key=lambda kv: -kv[1]))
    line = f"{decided} of {len(decisions)} item(s)" + (f" → {done}" if done else "")
    others = sum(1 for r in results if r.get("note") and "another process" in str(r.get("note")))
    if others:
        line += f" ({others} by another process)"
    return line + (f". Note: “{note}”" if note else "")


def has_problems(decisions: Sequence[Decision], results: Sequence[Mapping[str, Any]]) -> bool:
    """An item the person approved that did not get written (refused, failed, stale)."""
    approved = {d.proposal_id for d in decisions if d.type in (DecisionType.ACCEPT, DecisionType.EDIT)}
    return any(r.get("proposal_id") in approved and str(r.get("status")) in PROBLEMS for r in results)
