"""Login throttling: block guessing at one account, slow (never block) a noisy address.

Failures are counted in a sliding window (`login_window_seconds`) under three keys, with
N = `login_max_failures`:

- one user from one address: N failures lock that user out from that address (429);
- one user from anywhere: 4*N failures lock that user out everywhere (guessing from many
  addresses at one account);
- one address, whatever the usernames: past 4*N failures every attempt from it waits before its
  password is checked, 0.25 s doubling with each further failure up to 8 s. It is never refused
  for that alone, so strangers guessing made-up names behind an office's shared address slow the
  office's logins down but do not lock it out. At most N attempts of such an address wait at
  once (more get 429): parallel requests must not sidestep the wait.

Per process: on a multi-node install each node counts on its own (docs/adr/0005-auth.md).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from omnidesk.platform.errors import TooManyRequests

USER_FACTOR = 4
ADDRESS_FACTOR = 4
FIRST_DELAY = 0.25
MAX_DELAY = 8.0
# Keys of names tried once are never looked at again; drop expired ones now and then.
SWEEP_EVERY = 1000


@dataclass(frozen=True)
class LoginAttempt:
    tenant: str
    username: str
    address: str | None

    @property
    def user_key(self) -> str:
        return f"user:{self.tenant}:{self.username.lower()}"

    @property
    def pair_key(self) -> str:
        return f"{self.user_key}@{self.address}"

    @property
    def address_key(self) -> str:
        return f"ip:{self.address}"


class LoginRateLimiter:
    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._failures: dict[str, deque[float]] = {}
        self._waiting: dict[str, int] = {}
        self._since_sweep = 0

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def _refuse_at(self, key: str, limit: int) -> None:
        failures = self._recent(key)
        if len(failures) >= limit:
            retry = max(1, math.ceil(failures[0] + self.window - self._clock()))
            raise TooManyRequests(
                f"too many failed logins; try again in {retry} s", retry_after=retry
            )

    def delay(self, address_key: str) -> float:
        """How long an attempt from this address waits now (0 while under its allowance)."""
        excess = len(self._recent(address_key)) - self.max_failures * ADDRESS_FACTOR
        if excess < 0:
            return 0.0
        return min(MAX_DELAY, FIRST_DELAY * 2.0 ** min(excess, 16))

    async def admit(self, attempt: LoginAttempt) -> None:
        """Refuse a locked user (429), or wait as long as the address has earned."""
        self._refuse_at(attempt.pair_key, self.max_failures)
        self._refuse_at(attempt.user_key, self.max_failures * USER_FACTOR)
        delay = self.delay(attempt.address_key)
        if delay:
            await self._wait(attempt.address_key, delay)

    async def _wait(self, key: str, delay: float) -> None:
        if self._waiting.get(key, 0) >= self.max_failures:
            retry = max(1, math.ceil(delay))
            raise TooManyRequests(
                f"too many login attempts at once; try again in {retry} s", retry_after=retry
            )
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            await self._sleep(delay)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]

    def failed(self, attempt: LoginAttempt) -> None:
        now = self._clock()
        for key in (attempt.pair_key, attempt.user_key, attempt.address_key):
            self._failures.setdefault(key, deque()).append(now)
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self._since_sweep = 0
            for key in list(self._failures):
                self._recent(key)

    def succeeded(self, attempt: LoginAttempt) -> None:
        # Only this user's count from this address: a success from one place must not reopen
        # a guessing run at the account from elsewhere, nor quiet a noisy address.
        self._failures.pop(attempt.pair_key, None)
