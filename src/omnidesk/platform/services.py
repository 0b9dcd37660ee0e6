"""The long-lived objects of one running app, created in its lifespan (never at import)."""

from __future__ import annotations

from dataclasses import dataclass, field

from omnidesk.platform.auth.cache import PrincipalCache
from omnidesk.platform.auth.identity import IdentityStore
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
    # Who the users are: the directory's store, plugged in by the composition root.
    identities: IdentityStore
    metrics: Metrics
    # Resolved credentials, kept auth_cache_seconds (the composition root sizes it).
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache(0))
