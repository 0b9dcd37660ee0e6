"""Prometheus metrics, one registry per app (so several apps in one process don't collide)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "omnidesk_http_requests_total",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "omnidesk_http_request_duration_seconds",
            "HTTP request duration by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.realtime_clients = Gauge(
            "omnidesk_realtime_clients", "Connected realtime clients", registry=self.registry
        )
        self.events_published = Counter(
            "omnidesk_events_published_total",
            "Events published after commit",
            ["type"],
            registry=self.registry,
        )
        # What the server asks of its database and of its principal cache (bench figures:
        # statements per contact do not depend on how busy the machine is).
        self.db_statements = Counter(
            "omnidesk_db_statements_total",
            "SQL statements sent to the database, by their first keyword",
            ["kind"],
            registry=self.registry,
        )
        self.auth_lookups = Counter(
            "omnidesk_auth_lookups_total",
            "Credentials resolved: from the principal cache (hit) or the database (miss)",
            ["result"],
            registry=self.registry,
        )


def count_statements(engine: AsyncEngine, metrics: Metrics) -> None:
    """Count every statement the engine sends, by its first keyword."""
    kinds = {word: metrics.db_statements.labels(word.lower()) for word in _KINDS}
    other = metrics.db_statements.labels("other")

    def sent(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        kinds.get(statement.lstrip()[:6].upper(), other).inc()

    event.listen(engine.sync_engine, "before_cursor_execute", sent)


_KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
