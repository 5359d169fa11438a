"""The scope rule: which projects and tasks the agent reads, and which it may write. One owner.

Sync (what to read), the propose tools (what may be proposed), the retrospective (what it analyses and
proposes) and the one writer (what it may change, checked again on live data) all ask this module, so
they cannot disagree. The rule:

- An entry names a project, portfolio or tag by gid or by name; names match case-insensitively and
  ignore surrounding whitespace.
- A task is in scope when one of its projects is an allowed project (listed, or in a listed portfolio),
  or when it carries a listed tag.
- An empty allowlist reads every synced project and allows no write (fail closed). Writing to every
  synced project needs the explicit ``projects = ["*"]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from tools.config_types import ALL_PROJECTS, ScopeConfig
from tools.records import Project


def key(text: str) -> str:
    """How names are compared: case-insensitive, surrounding and repeated whitespace ignored."""
    return " ".join(str(text).split()).casefold()


class ScopeRule(BaseModel):
    """A scope allowlist resolved against a project catalogue: plain gids and tag keys."""

    model_config = ConfigDict(frozen=True)

    configured: bool  # False: the allowlist is empty (read everything, write nothing)
    all_projects: bool = False  # projects = ["*"]
    project_gids: frozenset[str] = frozenset()  # listed projects and the projects of listed portfolios
    tag_keys: frozenset[str] = frozenset()  # listed tags: gids and name keys
    unresolved: tuple[str, ...] = ()  # entries that matched nothing in the catalogue (reported)

    @classmethod
    def resolve(
        cls,
        config: ScopeConfig,
        projects: Iterable[tuple[str, str]] = (),
        *,
        portfolio_projects: Mapping[str, Iterable[str]] | None = None,
        portfolio_names: Mapping[str, str] | None = None,
    ) -> ScopeRule:
        """Resolve ``config`` against ``projects`` (gid, name) pairs.

        ``portfolio_projects`` maps a portfolio gid to its project gids; ``portfolio_names`` maps a
        portfolio gid to its name, so a portfolio may be listed by name. A gid the catalogue does not
        know still counts (a project created after the last sync), a name it does not know does not."""
        catalogue = list(projects)
        by_key: dict[str, set[str]] = {}
        gids = set()
        for gid, name in catalogue:
            gids.add(str(gid))
            by_key.setdefault(key(name), set()).add(str(gid))
        members = {str(k): {str(g) for g in v} for k, v in (portfolio_projects or {}).items()}
        pf_by_key: dict[str, set[str]] = {}
        for gid, name in (portfolio_names or {}).items():
            pf_by_key.setdefault(key(name), set()).add(str(gid))
        allowed: set[str] = set()
        unresolved: list[str] = []
        all_projects = False
        for ref in config.projects:
            if ref == ALL_PROJECTS:
                all_projects = True
            elif ref in gids or ref.isdigit():
                allowed.add(ref)
            elif key(ref) in by_key:
                allowed |= by_key[key(ref)]
            else:
                unresolved.append(f"project {ref!r}")
        for ref in config.portfolios:
            portfolio_gids = {ref} if ref in members or ref.isdigit() else pf_by_key.get(key(ref), set())
            if not portfolio_gids:
                unresolved.append(f"portfolio {ref!r}")
            for pf in portfolio_gids:
                allowed |= members.get(pf, set())
        tags = frozenset(t if t.isdigit() else key(t) for t in config.tags)
        return cls(
            configured=not config.is_empty,
            all_projects=all_projects,
            project_gids=frozenset(allowed),
            tag_keys=tags,
            unresolved=tuple(unresolved),
        )

    def tag_matches(self, tags: Iterable[str]) -> bool:
        """True when one of ``tags`` (gids or names) is a listed tag."""
        return any((t if t.isdigit() else key(t)) in self.tag_keys for t in tags if t)

    def allows(self, project_gids: Iterable[str], tags: Iterable[str] = ()) -> bool:
        """May the agent WRITE to a task in these projects with these tags (gids or names)?"""
        if not self.configured:
            return False
        projects = {str(g) for g in project_gids if g}
        if self.all_projects and projects:
            return True
        return bool(projects & self.project_gids) or self.tag_matches(tags)

    def reads(self, project_gids: Iterable[str], tags: Iterable[str] = ()) -> bool:
        """Does sync read a task in these projects with these tags? Everything when unconfigured."""
        if not self.configured:
            return True
        return self.allows(project_gids, tags)

    def allows_project(self, project_gid: str) -> bool:
        """May the agent write into this project itself (a summary task posted to it)?"""
        return self.configured and (self.all_projects or project_gid in self.project_gids)

    def refusal(self) -> str:
        """Why nothing may be written when the allowlist is empty (shown to users, one line)."""
        return (
            "the scope allowlist is empty, so nothing may be written: list projects, portfolios or tags "
            'under [scope] in the config, or set projects = ["*"] for every synced project'
        )


def portfolio_members(projects: Iterable[Project]) -> dict[str, set[str]]:
    """Portfolio gid -> project gids, from the portfolio links that sync stored on each project."""
    members: dict[str, set[str]] = {}
    for project in projects:
        for portfolio in project.portfolio_gids:
            members.setdefault(portfolio, set()).add(project.gid)
    return members
