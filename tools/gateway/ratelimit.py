"""Rate limits as a budget: one token bucket shared by every thread of a gateway.

Why: Asana counts requests per token (150/min on a free domain, 1,500 on a paid one, more on the
largest plans) and *rejected requests count too*. Eight threads that each retry on their own turn a
low limit into a 429 storm that never drains (issue 17: a 400-task sync failed twice at 150/min). Here
every request first takes a token from one bucket, and every 429 pauses every thread for its
``Retry-After``.

How the bucket is sized:

- a configured limit (``requests_per_minute``) paces from the first request;
- otherwise requests go out unpaced. A stray 429 (Asana's concurrency or cost limits, a hiccup) only
  pauses everyone for its ``Retry-After``. When 429s become the rule (``STREAK`` in a row: an emptied
  bucket rejects every request in flight at once; or half of the last ``RECENT`` answers), the quota of
  the last minute is spent: the requests sent in the trailing 60 s
  are then at least the limit (Asana does not send the limit in a header), so the bucket takes the
  largest documented tier (150, 1,500, 15,000/min) not above that count, or the count below 150;
- it paces at ``HEADROOM`` (95%) of that limit, so the server's bucket refills faster than it is
  drained and 429s stop;
- if 429s keep coming while paced (``BACKOFF_SHARE`` of the recent answers sent after the last
  adjustment), the real limit is lower (another app on the same token, the cost limit): the rate drops
  to 70%; ``RECOVER_AFTER`` seconds without a 429 raise it by 10%, never above the sized limit.

The clock and sleep are injectable so that tests can run "150 requests/min" in scaled time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

TIERS = (150.0, 1_500.0, 15_000.0)  # Asana's documented standard limits per minute
HEADROOM = 0.95
MIN_PER_MINUTE = 10.0
BACKOFF = 0.7
BACKOFF_SHARE = 0.15
SIZE_SHARE = 0.5
STREAK = 4  # 429s in a row that say the quota is spent (stray ones come alone)
RECENT = 20
RECOVER_AFTER = 60.0  # seconds without a 429 before the rate is raised again
WINDOW = 60.0


class RateBudget:
    """A token bucket shared by all threads of one gateway (thread-safe)."""

    def __init__(
        self,
        per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.limit: float | None = None  # requests/min the bucket paces at (None: unpaced)
        self.ceiling: float | None = None  # the sized or configured limit; recovery stays below it
        self.source = "none"  # "configured" | "learnt from 429s"
        self.adjustments = 0
        self._rate = 0.0  # tokens per second while paced
        self._tokens = 0.0
        self._capacity = 1.0
        self._stamp = clock()
        self._cooldown_until = 0.0
        self._adjusted_at = float("-inf")
        self._last_429 = float("-inf")
        self._sent: deque[float] = deque()
        self._recent: deque[tuple[float, bool]] = deque(maxlen=RECENT)  # (sent at, was a 429)
        self._streak = 0  # 429s in a row: an emptied bucket rejects every request in flight at once
        if per_minute:
            self._set_limit(float(per_minute), now=self._stamp, sized=True)
            self.source = "configured"
            self._tokens = self._capacity

    def _set_limit(self, per_minute: float, *, now: float, sized: bool) -> None:
        self.limit = max(MIN_PER_MINUTE, per_minute)
        if sized:
            self.ceiling = self.limit
        self._rate = self.limit * HEADROOM / 60.0
        # A small burst (two seconds' worth): after a pause the server's bucket holds about as much.
        self._capacity = max(1.0, self._rate * 2.0)
        self._tokens = min(self._tokens, self._capacity)
        self._adjusted_at = now
        self.adjustments += 1

    def describe(self) -> str:
        if self.limit is None:
            return "unpaced (no rate limit met)"
        return f"{self.limit:,.0f} requests/min ({self.source})"

    # -- what the gateway calls ------------------------------------------------------------------------
    def acquire(self) -> float:
        """Block until a request may go out; returns the moment (on the budget's clock) it was sent."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._cooldown_until - now
                if wait <= 0:
                    if self.limit is None:
                        return self._record(now)
                    self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
                    self._stamp = now
                    if self._tokens >= 1.0 - 1e-9:  # (float rounding must not leave a 1e-17 wait)
                        self._tokens = max(0.0, self._tokens - 1.0)
                        self._recover(now)
                        return self._record(now)
                    wait = (1.0 - self._tokens) / self._rate
            self._sleep(max(wait, 0.0))

    def _record(self, now: float) -> float:
        self._sent.append(now)
        while self._sent and self._sent[0] < now - WINDOW:
            self._sent.popleft()
        return now

    def _recover(self, now: float) -> None:
        if (
            self.limit is not None
            and self.ceiling is not None
            and self.limit < self.ceiling
            and now - max(self._last_429, self._adjusted_at) > RECOVER_AFTER
        ):
            self._set_limit(min(self.ceiling, self.limit * 1.1), now=now, sized=False)

    def succeeded(self, sent_at: float) -> None:
        with self._lock:
            self._recent.append((sent_at, False))
            self._streak = 0

    def rate_limited(self, retry_after: float | None, sent_at: float, max_pause: float) -> float:
        """A 429 for the request sent at ``sent_at``: pause every thread, and size or lower the bucket
        when 429s have become the rule. Returns the pause in seconds."""
        with self._lock:
            now = self._clock()
            pause = min(max(retry_after or 1.0, 0.0), max_pause)
            self._cooldown_until = max(self._cooldown_until, now + pause)
            self._last_429 = now
            self._tokens = 0.0
            self._stamp = max(self._stamp, now + pause)
            self._recent.append((sent_at, True))
            self._streak += 1
            if self.limit is None:
                rejected = sum(1 for _, was_429 in self._recent if was_429)
                if self._streak >= STREAK or (rejected >= 4 and rejected >= SIZE_SHARE * len(self._recent)):
                    observed = float(len(self._sent))
                    tiers = [t for t in TIERS if t <= observed]
                    self._set_limit(tiers[-1] if tiers else observed, now=now, sized=True)
                    self.source = "learnt from 429s"
                    self._recent.clear()
            else:
                since = [was_429 for at, was_429 in self._recent if at > self._adjusted_at]
                if sum(since) >= max(2, BACKOFF_SHARE * RECENT):
                    self._set_limit(self.limit * BACKOFF, now=now, sized=False)
                    self._recent.clear()
            return pause
