"""The figures of `omnidesk bench server` (one JSON document) and its plain-text table.

What each figure means: docs/routing.md, "Measuring the server path".
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from omnidesk.bench.server_agents import Ledger


def latency(values_ms: list[float]) -> dict[str, Any]:
    """count, p50/p95/p99/max in ms (nearest rank); None figures when nothing was measured."""
    ordered = sorted(values_ms)

    def rank(fraction: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 1)

    return {"count": len(ordered), "p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99),
            "max": rank(1.0)}  # fmt: skip


@dataclass(frozen=True)
class Window:
    """The measured span: from the first create to the end of the drain."""

    load_seconds: float  # creates were sent during this many seconds
    drain_seconds: float  # then this long until everything ended or the drain limit
    drained: bool  # everything created was ended within the drain limit
    started_at: float  # time.monotonic() of the first create


@dataclass(frozen=True)
class EndState:
    """The server's own view after the drain (GET /routing/agents, GET /routing/queues/{id});
    None where the server did not answer."""

    agent_states: dict[str, int]  # "available", "busy", "away (missed)", ...
    free_agents: int | None  # available and holding nothing, not even an offer
    not_available_on_sockets: int  # the agents' own view: their last state event
    waiting: int | None  # contacts in line
    ready_agents: int | None  # agents that could take a contact, in the same read as `waiting`


def contact_counts(ledger: Ledger) -> dict[str, int]:
    # Offered, accepted and ended count every contact requested: the server may have created
    # one whose answer never reached the client (it timed out, or was still in flight).
    records = ledger.contacts.values()
    return {
        "requested": len(ledger.contacts),
        "created": sum(1 for r in records if r.status == 201),
        "offered": sum(1 for r in records if r.offered_at is not None),
        "accepted": sum(1 for r in records if r.accepted),
        "ended": sum(1 for r in records if r.ended),
        "never_offered": sum(1 for r in records if r.status == 201 and r.offered_at is None),
        "unanswered_creates": sum(1 for r in records if r.status is None),
    }


def lost_offers(end: EndState) -> int | None:
    # Contacts in line while agents are ready for them, in one read of the server's state:
    # routing failed to match them. Contacts waiting with every agent busy are merely late.
    if end.waiting is None or end.ready_agents is None:
        return None
    return end.waiting if end.ready_agents > 0 else 0


def http_errors(ledger: Ledger) -> dict[str, Any]:
    by_status: Counter[int] = Counter()
    for statuses in ledger.http_errors.values():
        by_status.update(statuses)
    return {
        "by_operation": {
            operation: {str(status): n for status, n in sorted(statuses.items())}
            for operation, statuses in sorted(ledger.http_errors.items())
        },
        "4xx": sum(n for s, n in by_status.items() if 400 <= s < 500),
        "5xx": sum(n for s, n in by_status.items() if s >= 500),
        "429": by_status.get(429, 0),
        "no_answer": dict(sorted(ledger.client_errors.items())),
    }


def offers_per_second(ledger: Ledger, counts: dict[str, int], window: Window) -> float:
    # Contacts offered per second, over the load or until the last first offer if later
    # (a server that falls behind delivers its offers during the drain, at a lower rate).
    if not counts["offered"] or ledger.last_first_offer_at is None:
        return 0.0
    span = max(window.load_seconds, ledger.last_first_offer_at - window.started_at)
    return round(counts["offered"] / span, 2) if span > 0 else 0.0


def _per_offer(cpu_seconds: float, counts: dict[str, int]) -> float | None:
    # Server CPU per contact offered: comparable across runs even on a busy machine, where
    # latency mostly says how long the server waited for a core.
    return round(1000.0 * cpu_seconds / counts["offered"], 1) if counts["offered"] else None


def _statements_per_offer(server: dict[str, Any], counts: dict[str, int]) -> float | None:
    # Unlike CPU time, the statements a contact costs do not depend on how busy the machine is.
    statements = sum(server.get("db_statements", {}).values())
    return round(statements / counts["offered"], 1) if counts["offered"] else None


def figures(
    ledger: Ledger,
    window: Window,
    end: EndState,
    *,
    agents: int,
    params: dict[str, Any],
    machine: dict[str, Any],
    server: dict[str, Any],
    client: dict[str, Any],
    setup: dict[str, float],
) -> dict[str, Any]:
    counts = contact_counts(ledger)
    return {
        "params": params,
        "machine": machine,
        "create_ms": latency(ledger.create_ms),
        "offer_delivery_ms": latency(ledger.offer_ms),
        "accept_ms": latency(ledger.accept_ms),
        "end_ms": latency(ledger.end_ms),
        "offers_per_second": offers_per_second(ledger, counts, window),
        "creates_per_second": round(counts["requested"] / window.load_seconds, 2)
        if window.load_seconds
        else 0.0,
        "contacts": counts,
        "lost_offers": lost_offers(end),
        "waiting_at_end": end.waiting,
        "offers": {
            "received": ledger.offers_received,
            **dict(sorted(ledger.offer_outcomes.items())),
        },
        "agents": {
            "count": agents,
            "stuck": None if end.free_agents is None else agents - end.free_agents,
            "not_available_on_sockets": end.not_available_on_sockets,
            "missed_events": ledger.missed_events,
            "states_at_end": dict(sorted(end.agent_states.items())),
            "socket_closes": dict(sorted(ledger.socket_closes.items())),
            "reconnects": ledger.reconnects,
        },
        "http_errors": http_errors(ledger),
        "server": server
        | {
            "cpu_ms_per_offer": _per_offer(server["cpu_seconds"], counts),
            "db_statements_per_offer": _statements_per_offer(server, counts),
        },
        "client": client,
        "setup_seconds": round(sum(setup.values()), 1),
        "setup_phases_seconds": setup,
        "load_seconds": round(window.load_seconds, 2),
        "drain_seconds": round(window.drain_seconds, 2),
        "drained": window.drained,
    }


def _ms(figure: dict[str, Any]) -> str:
    parts = [figure[k] for k in ("p50", "p95", "p99", "max")]
    return " / ".join("-" if p is None else f"{p:,.1f}" for p in parts)


def table(result: dict[str, Any]) -> Table:
    p, contacts, agents = result["params"], result["contacts"], result["agents"]
    errors, server, machine = result["http_errors"], result["server"], result["machine"]
    out = Table(
        title=f"Server path: {p['agents']:,} agents, {p['rate']}/s for {p['seconds']} s "
        f"on {p['backend']}"
    )
    out.add_column("Measure")
    out.add_column("Value", justify="right")
    rows = [
        ("Create p50 / p95 / p99 / max (ms)", _ms(result["create_ms"])),
        ("Create → offer on socket p50 / p95 / p99 / max (ms)", _ms(result["offer_delivery_ms"])),
        ("Accept p50 / p95 / p99 / max (ms)", _ms(result["accept_ms"])),
        ("End p50 / p95 / p99 / max (ms)", _ms(result["end_ms"])),
        ("Offers per second (creates sent per second)",
         f"{result['offers_per_second']} ({result['creates_per_second']})"),
        ("Contacts requested / created / offered / accepted / ended",
         " / ".join(f"{contacts[k]:,}" for k in
                    ("requested", "created", "offered", "accepted", "ended"))),
        ("Lost offers (waiting while agents ready)", f"{result['lost_offers']}"),
        ("Never offered / waiting at end",
         f"{contacts['never_offered']:,} / {result['waiting_at_end']}"),
        ("Agents stuck at end / missed events",
         f"{agents['stuck']} / {agents['missed_events']:,}"),
        ("Agent states at end", ", ".join(f"{k} {v}" for k, v in agents["states_at_end"].items())),
        ("Socket closes / reconnects",
         f"{sum(agents['socket_closes'].values())} / {agents['reconnects']}"),
        ("HTTP 4xx / 5xx / 429", f"{errors['4xx']} / {errors['5xx']} / {errors['429']}"),
        ("Requests without answer", f"{sum(errors['no_answer'].values())}"),
        ("Server CPU s (% of one core)", f"{server['cpu_seconds']} ({server['cpu_pct']} %)"),
        ("Server waiting for a core (s)", f"{server['runqueue_wait_seconds']}"),
        ("Server CPU idle, all sockets open (% of one core)", f"{server['idle_cpu_pct']} %"),
        ("Server CPU per contact offered (ms)", f"{server['cpu_ms_per_offer']}"),
        ("Database statements per contact offered", f"{server['db_statements_per_offer']}"),
        ("Credentials from the principal cache (hit / miss)",
         "{hit:.0f} / {miss:.0f}".format(**{"hit": 0, "miss": 0, **server["auth_lookups"]})),
        ("Server RSS at end / peak (MB)", f"{server['rss_mb']} / {server['peak_rss_mb']}"),
        ("Bench client CPU (% of one core)", f"{result['client']['cpu_pct']} %"),
        ("Machine: cores, load average at start",
         f"{machine['cores']}, {' '.join(str(x) for x in machine['load_average_start'])}"),
        ("Setup / load / drain (s)",
         f"{result['setup_seconds']} / {result['load_seconds']} / {result['drain_seconds']}"
         + ("" if result["drained"] else " (drain limit hit)")),
    ]  # fmt: skip
    for label, value in rows:
        out.add_row(label, value)
    return out
