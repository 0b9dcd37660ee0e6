"""The ASGI application factory. Everything stateful is created in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import omnidesk
from omnidesk.channels.voice.call_endpoints import router as call_router
from omnidesk.channels.voice.endpoints import router as voice_router
from omnidesk.channels.voice.recording_endpoints import router as recording_router
from omnidesk.channels.voice.views import VoiceView
from omnidesk.channels.voice.wiring import start_voice, stop_voice
from omnidesk.directory.endpoints import router as directory_router
from omnidesk.directory.views import DirectoryView
from omnidesk.platform import migrate
from omnidesk.platform.auth.endpoints import router as auth_router
from omnidesk.platform.auth.ratelimit import LoginRateLimiter
from omnidesk.platform.bus import EventBus, InProcessBus
from omnidesk.platform.database import Database
from omnidesk.platform.endpoints import api as platform_router
from omnidesk.platform.endpoints import probes
from omnidesk.platform.http import BodyLimitMiddleware, MetricsMiddleware, install_error_handlers
from omnidesk.platform.logging import get_logger
from omnidesk.platform.metrics import Metrics
from omnidesk.platform.realtime import Hub
from omnidesk.platform.services import AppServices
from omnidesk.platform.settings import Settings, apply_process_settings
from omnidesk.routing.endpoints import router as routing_router
from omnidesk.routing.service import RoutingService
from omnidesk.routing.views import RoutingView
from omnidesk.wfm.endpoints import router as wfm_router
from omnidesk.wfm.forecasting.endpoints import router as forecasting_router
from omnidesk.wfm.scheduling.endpoints import router as scheduling_router

API_PREFIX = "/api/v1"
log = get_logger(__name__)


def create_app(settings: Settings, *, bus: EventBus | None = None) -> FastAPI:
    apply_process_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            migrate.upgrade(settings.database_url)
        db = Database(settings.database_url)
        services = AppServices(
            settings=settings,
            db=db,
            bus=bus or InProcessBus(),
            limiter=LoginRateLimiter(settings.login_max_failures, settings.login_window_seconds),
            metrics=app.state.metrics,
        )
        app.state.services = services
        app.state.routing = RoutingService(db, services.bus)
        voice_view = VoiceView(lambda: getattr(app.state, "voice", None))
        app.state.hub = Hub(services, [DirectoryView(), RoutingView(app.state.routing), voice_view])
        app.state.routing.start()
        app.state.voice = None
        if settings.voice_enabled:
            app.state.voice = await start_voice(settings, services, app.state.routing)
        log.info("omnidesk started", database=db.backend)
        try:
            yield
        finally:
            if app.state.voice is not None:
                await stop_voice(app.state.voice)
            await app.state.routing.stop()
            app.state.hub.close()
            await db.dispose()

    app = FastAPI(
        title="Omnidesk",
        version=omnidesk.__version__,
        summary="Self-hosted omnichannel contact center",
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # WAV prompts are far larger than any JSON body; the route checks them itself too.
        overrides={f"{API_PREFIX}/voice/audio": settings.voice_audio_max_bytes},
    )
    app.add_middleware(MetricsMiddleware, api_prefix=API_PREFIX)
    app.include_router(probes)
    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(directory_router, prefix=API_PREFIX)
    app.include_router(platform_router, prefix=API_PREFIX)
    app.include_router(routing_router, prefix=API_PREFIX)
    app.include_router(wfm_router, prefix=API_PREFIX)
    app.include_router(forecasting_router, prefix=API_PREFIX)
    app.include_router(scheduling_router, prefix=API_PREFIX)
    app.include_router(voice_router, prefix=API_PREFIX)
    app.include_router(call_router, prefix=API_PREFIX)
    app.include_router(recording_router, prefix=API_PREFIX)
    return app
