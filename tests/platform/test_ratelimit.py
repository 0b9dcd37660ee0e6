"""The login limiter's rule (platform/auth/ratelimit.py): lock a guessed-at user, slow a noisy
address."""

from __future__ import annotations

import asyncio

import pytest

from omnidesk.platform.auth.ratelimit import LoginAttempt, LoginRateLimiter
from omnidesk.platform.errors import TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def limiter(clock: Clock, max_failures: int = 3) -> LoginRateLimiter:
    return LoginRateLimiter(max_failures, 60, clock=clock, sleep=clock.sleep)


async def test_a_user_is_locked_per_address_and_the_lock_ends_with_the_window() -> None:
    clock = Clock()
    limit = limiter(clock)
    at_home, at_office = LoginAttempt("acme", "Jane", "10.0.0.1"), LoginAttempt("acme", "jane", "2")
    for _ in range(3):
        await limit.admit(at_home)
        limit.failed(at_home)
    with pytest.raises(TooManyRequests) as refused:
        await limit.admit(at_home)
    assert refused.value.retry_after == 60
    await limit.admit(at_office)  # the same user elsewhere is not locked by it
    await limit.admit(LoginAttempt("other", "jane", "10.0.0.1"))  # nor a namesake elsewhere
    clock.now += 60
    await limit.admit(at_home)


async def test_a_user_guessed_at_from_many_addresses_is_locked_everywhere() -> None:
    clock = Clock()
    limit = limiter(clock)
    for n in range(12):  # 4x the allowance, three failures from each of four addresses
        limit.failed(LoginAttempt("acme", "jane", f"10.0.0.{n // 3}"))
    with pytest.raises(TooManyRequests):
        await limit.admit(LoginAttempt("acme", "jane", "192.0.2.7"))
    await limit.admit(LoginAttempt("acme", "joe", "192.0.2.7"))


async def test_an_address_is_slowed_more_with_every_failure_but_never_refused() -> None:
    clock = Clock()
    limit = limiter(clock)
    delays = []
    for n in range(20):
        attempt = LoginAttempt("acme", f"made-up-{n}", "203.0.113.9")
        await limit.admit(attempt)
        delays.append(limit.delay(attempt.address_key))
        limit.failed(attempt)
    # 12 failures (4x the allowance) are free, then 0.25 s doubling up to 8 s.
    assert delays[:12] == [0.0] * 12
    assert delays[12:] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert clock.waits == delays[12:]
    await limit.admit(LoginAttempt("acme", "jane", "203.0.113.9"))  # slowed, still let in
    assert clock.waits[-1] == 8.0


async def test_a_success_clears_only_that_user_at_that_address() -> None:
    clock = Clock()
    limit = limiter(clock)
    office = LoginAttempt("acme", "jane", "10.0.0.1")
    for _ in range(2):
        limit.failed(office)
    limit.succeeded(office)
    for _ in range(2):
        limit.failed(office)
    await limit.admit(office)  # 2 of 3 since the success
    limit.failed(office)
    with pytest.raises(TooManyRequests):
        await limit.admit(office)


async def test_parallel_attempts_cannot_sidestep_the_wait() -> None:
    clock = Clock()
    release = asyncio.Event()

    async def held(seconds: float) -> None:
        await release.wait()

    limit = LoginRateLimiter(2, 60, clock=clock, sleep=held)
    for n in range(9):  # past the address's allowance of 8: attempts from it now wait
        limit.failed(LoginAttempt("acme", f"made-up-{n}", "203.0.113.9"))
    waiting = [
        asyncio.create_task(limit.admit(LoginAttempt("acme", f"x{n}", "203.0.113.9")))
        for n in range(2)
    ]
    await asyncio.sleep(0)  # let both start waiting
    with pytest.raises(TooManyRequests) as refused:
        await limit.admit(LoginAttempt("acme", "jane", "203.0.113.9"))
    assert refused.value.retry_after == 1
    await limit.admit(LoginAttempt("acme", "jane", "198.51.100.1"))  # other addresses unaffected
    release.set()
    await asyncio.gather(*waiting)
    await asyncio.wait_for(limit.admit(LoginAttempt("acme", "jane", "203.0.113.9")), 1)
