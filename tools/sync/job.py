"""One sync run's shared state (``SyncJob``) and how it writes to the store.

Every phase (crawl, events, details, stories, extras) takes the job: the gateway, the store, the
options, the skip log, warnings, counts, and the helpers that write only what changed (``diff_write``,
``replace``) so counts say what really changed and re-syncs rewrite nothing. Progress callbacks also
beat the run's heartbeat, so a long backfill is never mistaken for a dead one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from tools.gateway import AsanaGateway
from tools.gateway.errors import GatewayError
from tools.scope import ScopeRule
from tools.store import Store, SyncState
from tools.sync.mapping import FieldMappingRules, MappingContext, SkipLog
from tools.sync.options import SyncOptions
from tools.sync.summary import KindCounts

log = logging.getLogger("tools.sync")
Progress = Callable[[str, int, int | None], None]
HEARTBEAT_EVERY = 30.0  # seconds


def _noop(_stage: str, _done: int, _total: int | None) -> None:
    return None


class SyncJob:
    """What one sync run shares across its phases."""

    def __init__(
        self, gw: AsanaGateway, store: Store, options: SyncOptions, progress: Progress | None = None
    ) -> None:
        self.gw = gw
        self.store = store
        self.options = options
        self._progress = progress or _noop
        self.rules = FieldMappingRules.from_settings(options.fields)
        self.skips = SkipLog()
        self.warnings: list[str] = []
        self.features: dict[str, str] = {}
        self.counts: dict[str, KindCounts] = {}
        self.rule: ScopeRule | None = None  # resolved by the full crawl, else on first use
        self.started = datetime.now(UTC)
        self.run_id: int | None = None
        self.details_read = 0
        self.stories_read = 0
        self._beat = time.monotonic()

    # -- progress ------------------------------------------------------------------------------------
    def progress(self, stage: str, done: int, total: int | None) -> None:
        self._progress(stage, done, total)
        if self.run_id is not None and time.monotonic() - self._beat > HEARTBEAT_EVERY:
            self._beat = time.monotonic()
            self.store.heartbeat(self.run_id)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def mapping(self, **kwargs: Any) -> MappingContext:
        return MappingContext(rules=self.rules, skips=self.skips, **kwargs)

    def feature_skip(self, feature: str, exc: GatewayError, consequence: str) -> None:
        """A paid or scoped feature this token cannot read (402/403/404): one line in the summary, a
        logged skip, and the sync goes on. A 401 is a bad token, not a missing feature: it propagates."""
        status = getattr(exc, "status", None)
        if status == 401:
            raise exc
        why = {402: "not in this plan", 403: "the token may not read it", 404: "not offered here"}.get(
            status or 0, "unavailable"
        )
        line = f"not available (HTTP {status}: {why}): {consequence}"
        self.features[feature] = line
        log.warning("%s %s", feature, line)
        self.skips.add(feature, None, f"HTTP {status}: {why}")

    # -- capabilities of the server (probed once, remembered) ------------------------------------------
    def capability(self, key: str) -> Any:
        caps = self.store.sync_state("capabilities")
        return caps.data.get(key) if caps is not None else None

    def set_capability(self, key: str, value: Any) -> None:
        caps = self.store.sync_state("capabilities")
        data = dict(caps.data) if caps else {}
        data[key] = value
        self.store.set_sync_state(SyncState(scope="capabilities", last_sync_at=self.started, data=data))

    # -- writing only what changed ------------------------------------------------------------------------
    def count(self, kind: str) -> KindCounts:
        return self.counts.setdefault(kind, KindCounts())

    def diff_write(
        self,
        kind: str,
        records: Sequence[Any],
        upsert: Callable[[list[Any]], int],
        existing: dict[str, str] | None = None,
    ) -> list[Any]:
        """Write the records whose fingerprint differs from the store's; count created/updated/unchanged."""
        existing = self.store.fingerprints(kind) if existing is None else existing
        c = self.count(kind)
        changed: list[Any] = []
        for r in records:
            key, fp = Store.fingerprint_of(kind, r)
            old = existing.get(key)
            if old is None:
                c.created += 1
                changed.append(r)
            elif old != fp:
                c.updated += 1
                changed.append(r)
            else:
                c.unchanged += 1
        upsert(changed)
        return changed

    def replace(self, kind: str, records: Sequence[Any], upsert: Callable[[list[Any]], int]) -> None:
        """The store's records of ``kind`` become exactly ``records`` (a complete listing)."""
        existing = self.store.fingerprints(kind)
        self.diff_write(kind, records, upsert, existing)
        gone = set(existing) - {str(getattr(r, "gid")) for r in records}  # noqa: B009
        if gone:
            self.store.delete_kind(kind, gone)
            self.count(kind).deleted += len(gone)

    def delete(self, kind: str, gids: Iterable[str], delete: Callable[[Iterable[str]], int]) -> None:
        gids = list(gids)
        if gids:
            delete(gids)
            self.count(kind).deleted += len(gids)

    def scope_rule(self) -> ScopeRule:
        """The scope rule, resolved against the stored projects when this run did not crawl them."""
        if self.rule is None:
            self.rule = ScopeRule.resolve(
                self.options.scope, [(p.gid, p.name) for p in self.store.projects()]
            )
        return self.rule
