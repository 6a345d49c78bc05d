"""A per-client token-bucket rate limiter (in memory, thread-safe)."""

from __future__ import annotations

import threading
import time
from typing import Callable


class RateLimiter:
    """Allows ``per_minute`` requests a minute per key on average, with bursts of up to ``burst``."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one token for ``key``: ``None`` when allowed, else the seconds to wait before retrying."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self._max_keys:
                    self._forget_full(now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely (they hold no state worth keeping)."""
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate >= self.burst:
                del self._buckets[key]
