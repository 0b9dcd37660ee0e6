"""The customers of one replication: when each arrives, where, and how it will behave.

Common random numbers: every purpose (arrival times, handle times, patience, answer delay,
wrap-up, each attribute, priority) of every stream has its own numpy Generator, seeded from
(seed, replication, purpose, stream). Everything about a customer is drawn here, before the
run, so it does not depend on routing: two variants of a what-if see identical customers, and
adding a stream or an attribute leaves the others' draws unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omnidesk.wfm.twin.build import Plan, Stream, stable_key
from omnidesk.wfm.twin.distributions import AnyDistribution, mean, sample

IntArray = NDArray[np.int64]

ARRIVALS, HANDLE, PATIENCE, ANSWER, WRAP, ATTRIBUTE, PRIORITY, ANSWER_AGAIN = range(1, 9)
NEVER = -1  # patience of a customer who never hangs up


def rng_for(seed: int, replication: int, purpose: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(entropy=seed, spawn_key=(replication, purpose, *keys))
    )


@dataclass(frozen=True)
class Customers:
    """Per customer, in arrival order (the contact id is the position as text). Plain lists:
    the simulator reads them one item at a time, which numpy arrays make slower."""

    arrive_us: list[int]  # absolute instant, microseconds since the epoch
    stream: list[int]
    handle_us: list[int]
    patience_us: list[int]  # NEVER: waits forever
    answer_us: list[int]  # the agent's delay before accepting the contact's first offer
    wrap_us: list[int]  # wrap-up the agent takes when the queue does not time it
    priority: list[int]
    attributes: list[dict[str, Any]]
    seed: int = 0
    replication: int = 0

    def __len__(self) -> int:
        return len(self.arrive_us)


def _micros(seconds: NDArray[np.float64]) -> IntArray:
    return np.rint(seconds * 1e6).astype(np.int64)


def _draw(
    dist: AnyDistribution | None, seed: int, rep: int, purpose: int, key: int, n: int
) -> NDArray[np.float64]:
    if dist is None:
        return np.zeros(n)
    return sample(dist, rng_for(seed, rep, purpose, key), n)


def _stream(plan: Plan, stream: Stream, seed: int, rep: int) -> dict[str, Any]:
    rng = rng_for(seed, rep, ARRIVALS, stream.key)
    # A Poisson process whose rate is constant within each interval: the count per interval
    # is Poisson, and given the count the instants are uniform over the interval.
    counts = rng.poisson(stream.volumes)
    n = int(counts.sum())
    interval = np.repeat(np.arange(plan.intervals, dtype=np.int64), counts)
    offsets = np.floor(rng.uniform(0.0, float(plan.interval_us), n)).astype(np.int64)
    order = np.lexsort((offsets, interval))
    interval, offsets = interval[order], offsets[order]
    arrive = plan.start_us + interval * plan.interval_us + offsets

    handle = _draw(stream.handle, seed, rep, HANDLE, stream.key, n)
    if stream.aht is not None:
        # The forecast's AHT of the interval sets the mean; the distribution keeps its shape.
        wanted = stream.aht[interval]
        scale = np.where(np.isnan(wanted), 1.0, wanted / mean(stream.handle))
        handle = handle * scale
    patience = _draw(stream.patience, seed, rep, PATIENCE, stream.key, n)
    patience_us = np.where(
        np.isinf(patience), NEVER, _micros(np.where(np.isinf(patience), 0, patience))
    )

    attributes: list[tuple[str, tuple[Any, ...], IntArray]] = []
    for name, values, probs in stream.attributes:
        picks = rng_for(seed, rep, ATTRIBUTE, stream.key, stable_key(name)).choice(
            len(values), n, p=probs
        )
        attributes.append((name, values, picks))
    if stream.priority is not None:
        levels, probs = stream.priority
        priority = np.asarray(levels, dtype=np.int64)[
            rng_for(seed, rep, PRIORITY, stream.key).choice(len(levels), n, p=probs)
        ]
    else:
        priority = np.zeros(n, dtype=np.int64)
    return {
        "arrive": arrive,
        "handle": _micros(handle),
        "patience": patience_us,
        "answer": _micros(_draw(stream.answer_delay, seed, rep, ANSWER, stream.key, n)),
        "wrap": _micros(_draw(stream.wrap_up, seed, rep, WRAP, stream.key, n)),
        "priority": priority,
        "attributes": attributes,
    }


def generate(plan: Plan, seed: int, replication: int) -> Customers:
    parts = [_stream(plan, s, seed, replication) for s in plan.streams]
    if not parts:
        return Customers([], [], [], [], [], [], [], [], seed, replication)
    arrive = np.concatenate([p["arrive"] for p in parts])
    stream = np.concatenate(
        [
            np.full(len(p["arrive"]), s.index, dtype=np.int64)
            for p, s in zip(parts, plan.streams, strict=True)
        ]
    )
    rank = np.concatenate([np.arange(len(p["arrive"]), dtype=np.int64) for p in parts])
    keys = np.asarray([s.key for s in plan.streams], dtype=np.int64)[stream]
    # Ties at one microsecond are broken by the stream's stable key, not its position in the
    # file, so reordering streams in a scenario does not reorder customers.
    order = np.lexsort((rank, keys, arrive))

    def column(name: str) -> list[int]:
        values: list[int] = np.concatenate([p[name] for p in parts])[order].tolist()
        return values

    # Attribute dicts are shared between customers with the same values (the engine copies
    # what it keeps), which saves building one dict per customer.
    per_stream: list[list[dict[str, Any]]] = []
    for p in parts:
        cache: dict[tuple[int, ...], dict[str, Any]] = {}
        rows: list[dict[str, Any]] = []
        pick_columns = [picks.tolist() for _, _, picks in p["attributes"]]
        for combo in zip(*pick_columns, strict=True) if pick_columns else ():
            found = cache.get(combo)
            if found is None:
                found = {
                    name: values[i]
                    for (name, values, _), i in zip(p["attributes"], combo, strict=True)
                }
                cache[combo] = found
            rows.append(found)
        if not pick_columns:
            rows = [{}] * len(p["arrive"])
        per_stream.append(rows)
    flat = [row for rows in per_stream for row in rows]
    attributes = [flat[i] for i in order.tolist()]
    return Customers(
        arrive_us=column("arrive"),
        stream=stream[order].tolist(),
        handle_us=column("handle"),
        patience_us=column("patience"),
        answer_us=column("answer"),
        wrap_us=column("wrap"),
        priority=column("priority"),
        attributes=attributes,
        seed=seed,
        replication=replication,
    )
