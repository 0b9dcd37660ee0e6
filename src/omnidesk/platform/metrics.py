"""Prometheus metrics, one registry per app (so several apps in one process don't collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
