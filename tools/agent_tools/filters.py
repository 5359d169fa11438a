"""The filters the time and task read tools share: names resolved to gids, applied to tasks and entries.

A filter that names nothing known is an error message for the caller, never a filter quietly
dropped: ``resolve`` returns either the resolved ``Scope`` or the sentence to answer with. Every
applied filter is echoed in the tool's header (``Scope.echo``), so an answer can show what it counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from tools.agent_tools.common import norm, task_ref
from tools.records import Task, TimeEntry, Workspace


class FilterArgs(BaseModel):
    """Filters on tasks and their time entries (all optional; each one given is applied)."""

    person: str | None = Field(None, description="Only this person (name, first name or gid).")
    project: str | None = Field(None, description="Only this project (name or gid).")
    client: str | None = Field(None, description="Only projects of this client.")
    tag: str | None = Field(None, description="Only tasks with this tag.")
    section: str | None = Field(None, description="Only tasks in this section.")
    project_type: str | None = Field(None, description="Only projects of this type.")
    task_gid: str | None = Field(None, description="Only this task (gid).")


@dataclass
class Scope:
    """Resolved filters: sets of gids (None = no filter on that dimension)."""

    people: set[str] | None = None
    projects: set[str] | None = None
    tasks: set[str] | None = None
    tag: str | None = None
    section: str | None = None
    echo_parts: list[str] = field(default_factory=list)

    def echo(self) -> str:
        return ", ".join(self.echo_parts) or "none"

    def task_ok(self, task: Task | None) -> bool:
        if self.tasks is not None and (task is None or task.gid not in self.tasks):
            return False
        if self.projects is not None and (task is None or task.project_gid not in self.projects):
            return False
        if self.tag is not None and (task is None or self.tag not in {norm(t) for t in task.tags}):
            return False
        return not (self.section is not None and (task is None or norm(task.section) != self.section))

    def entry_ok(self, entry: TimeEntry, task: Task | None) -> bool:
        if self.people is not None and entry.user_gid not in self.people:
            return False
        project = entry.project_gid or (task.project_gid if task else None)
        if self.projects is not None and project not in self.projects:
            return False
        if self.tasks is not None and entry.task_gid not in self.tasks:
            return False
        if self.tag is not None and (task is None or self.tag not in {norm(t) for t in task.tags}):
            return False
        return not (self.section is not None and (task is None or norm(task.section) != self.section))

    def assignee_ok(self, task: Task) -> bool:
        return self.people is None or task.assignee_gid in self.people


def _pick(query: str, items: list[tuple[str, str]], what: str) -> tuple[set[str], str] | str:
    """(gids, display name) for a name or gid: exact first, then a unique word-prefix or substring."""
    q = norm(query)
    exact = [(gid, name) for gid, name in items if gid == query or norm(name) == q]
    if not exact:
        exact = [(gid, name) for gid, name in items if norm(name).split()[:1] == [q]]  # a first name
    if not exact:
        exact = [(gid, name) for gid, name in items if q and q in norm(name)]
    if not exact:
        return f"no {what} matches {query[:60]!r}"
    names = sorted({name for _, name in exact})
    if len(names) > 1:
        listed = ", ".join(names[:6])
        return f"{len(names)} {what}s match {query[:60]!r} ({listed}); name one"
    return {gid for gid, _ in exact}, names[0]


def resolve(ws: Workspace, args: FilterArgs) -> Scope | str:
    """The filters as gid sets, or the reason one cannot be applied (say it; do not drop it)."""
    scope = Scope()
    if args.person:
        got = _pick(args.person, [(p.gid, p.name) for p in ws.people], "person")
        if isinstance(got, str):
            return got
        scope.people, name = got
        scope.echo_parts.append(f"person={name}")
    projects: set[str] | None = None
    if args.project:
        got = _pick(args.project, [(p.gid, p.name) for p in ws.projects], "project")
        if isinstance(got, str):
            return got
        projects, name = got
        scope.echo_parts.append(f"project={name}")
    if args.client:
        got = _pick(args.client, [(p.gid, p.client) for p in ws.projects if p.client], "client")
        if isinstance(got, str):
            return got
        client_projects, name = got
        projects = client_projects if projects is None else projects & client_projects
        scope.echo_parts.append(f"client={name}")
    if args.project_type:
        got = _pick(
            args.project_type,
            [(p.gid, p.project_type) for p in ws.projects if p.project_type],
            "project type",
        )
        if isinstance(got, str):
            return got
        typed, name = got
        projects = typed if projects is None else projects & typed
        scope.echo_parts.append(f"project_type={name}")
    scope.projects = projects
    if args.tag:
        tags = {norm(tag) for t in ws.tasks for tag in t.tags}
        if norm(args.tag) not in tags:
            return f"no tag matches {args.tag[:60]!r}"
        scope.tag = norm(args.tag)
        scope.echo_parts.append(f"tag={args.tag}")
    if args.section:
        sections = {norm(t.section) for t in ws.tasks if t.section}
        if norm(args.section) not in sections:
            return f"no section matches {args.section[:60]!r}"
        scope.section = norm(args.section)
        scope.echo_parts.append(f"section={args.section}")
    if args.task_gid:
        task = next((t for t in ws.tasks if t.gid == args.task_gid), None)
        if task is None:
            return f"no task with gid {args.task_gid[:40]!r}"
        scope.tasks = {task.gid}
        scope.echo_parts.append(f"task={task_ref(task, 60)}")
    return scope
