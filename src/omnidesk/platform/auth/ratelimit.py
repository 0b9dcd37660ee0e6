"""Login throttling: a sliding window of failures per username and per client address.

Per process: on a multi-node install each node counts on its own, which still caps a scanner at
N times the number of nodes guesses per window (see docs/adr/0004-auth.md).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable

from omnidesk.platform.errors import TooManyRequests


class LoginRateLimiter:
    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return deque()
        return failures

    def check(self, keys: Iterable[tuple[str, int]]) -> None:
        """`keys` pairs a key with its allowance multiplier (an address gets more than a user)."""
        for key, factor in keys:
            failures = self._recent(key)
            if len(failures) >= self.max_failures * factor:
                retry = max(1, math.ceil(failures[0] + self.window - self._clock()))
                raise TooManyRequests(
                    f"too many failed logins; try again in {retry} s", retry_after=retry
                )

    def failure(self, keys: Iterable[str]) -> None:
        now = self._clock()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
