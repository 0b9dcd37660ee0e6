"""The long-lived objects of one running app, created in its lifespan (never at import)."""

from __future__ import annotations

from dataclasses import dataclass

from omnidesk.platform.auth.ratelimit import LoginRateLimiter
from omnidesk.platform.bus import EventBus
from omnidesk.platform.database import Database
from omnidesk.platform.metrics import Metrics
from omnidesk.platform.settings import Settings


@dataclass
class AppServices:
    settings: Settings
    db: Database
    bus: EventBus
    limiter: LoginRateLimiter
    metrics: Metrics
