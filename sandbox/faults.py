"""Seeded fault injection and the per-token rate limiter.

Faults are decided per request *before* any state change, from a hash of (seed, method, path+query, how
many times that same request was seen). So the outcome is the same for a given seed and request sequence,
even when several clients interleave, and a retry of the same request draws a fresh outcome.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass, field

FAULT_KINDS = ("5xx", "429", "slow", "drop")


@dataclass(frozen=True)
class FaultSpec:
    """Probabilities per fault kind plus the seed; parse with `FaultSpec.parse("5xx=0.05,seed=7")`."""

    p5xx: float = 0.0
    p429: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    seed: int = 0
    slow_seconds: float = 0.4

    @classmethod
    def parse(cls, spec: str | None) -> FaultSpec | None:
        """Parse `5xx=0.05,429=0.03,slow=0.02,drop=0.02,seed=7[,slow_s=0.5]`; None/empty -> None."""
        if not spec or not spec.strip():
            return None
        values: dict[str, float] = {}
        seed = 0
        slow_s = 0.4
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, raw = part.partition("=")
            if not sep:
                raise ValueError(f"bad fault spec item {part!r}: expected key=value")
            key = key.strip().lower()
            try:
                num = float(raw)
            except ValueError:
                raise ValueError(f"bad fault spec value {part!r}") from None
            if key == "seed":
                seed = int(num)
            elif key in ("slow_s", "slow_seconds"):
                slow_s = num
            elif key in FAULT_KINDS:
                if not 0 <= num <= 1:
                    raise ValueError(f"fault probability out of [0, 1]: {part!r}")
                values[key] = num
            else:
                raise ValueError(f"unknown fault kind {key!r}; known: {', '.join(FAULT_KINDS)}, seed, slow_s")
        if sum(values.values()) > 1:
            raise ValueError("fault probabilities add up to more than 1")
        return cls(
            values.get("5xx", 0.0),
            values.get("429", 0.0),
            values.get("slow", 0.0),
            values.get("drop", 0.0),
            seed,
            slow_s,
        )


@dataclass
class FaultInjector:
    spec: FaultSpec
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, method: str, path: str, query: str) -> str | None:
        """The fault for this request (`5xx`, `429`, `slow`, `drop`) or None."""
        params = "&".join(sorted(query.split("&"))) if query else ""
        key = f"{method} {path}?{params}"
        with self._lock:
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
        digest = hashlib.blake2b(f"{self.spec.seed}|{key}|{n}".encode(), digest_size=8).digest()
        u = int.from_bytes(digest, "big") / 2**64
        for kind, p in (
            ("5xx", self.spec.p5xx),
            ("429", self.spec.p429),
            ("drop", self.spec.drop),
            ("slow", self.spec.slow),
        ):
            if u < p:
                return kind
            u -= p
        return None


class RateLimiter:
    """Token bucket per access token: `per_minute` requests/min, bucket size `burst` (default per_minute)."""

    def __init__(self, per_minute: float, burst: float | None = None, clock: object = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("rate limit must be positive")
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else per_minute)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int:
        """0 when the request may proceed, else the whole seconds to wait (>= 1) for Retry-After."""
        now = self._clock()  # type: ignore[operator]
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
