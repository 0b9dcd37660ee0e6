"""The composition root: the one place that knows every part and puts them together.

It sits above the domains (docs/adr/0008-composition-root-and-layers.md): it builds the ASGI app,
starts and stops the long-lived services in the lifespan, plugs the directory in as the platform's
identity store, registers the realtime views and includes every router. Nothing below it imports
it; the platform imports no domain. Everything stateful is created in the lifespan, never at import.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

import omnidesk
from omnidesk.analytics.endpoints import router as analytics_router
from omnidesk.analytics.export_endpoints import router as analytics_export_router
from omnidesk.analytics.ingester import Ingester
from omnidesk.analytics.schedule_endpoints import router as analytics_schedule_router
from omnidesk.analytics.scheduler import ReportScheduler
from omnidesk.analytics.views import AnalyticsView
from omnidesk.branding.endpoints import router as branding_router
from omnidesk.channels.chat.adapter import ChatAdapter
from omnidesk.channels.chat.cors import WidgetCorsMiddleware
from omnidesk.channels.chat.endpoints import admin_router as chat_admin_router
from omnidesk.channels.chat.endpoints import router as chat_router
from omnidesk.channels.chat.hub import VisitorHub
from omnidesk.channels.chat.widget import WidgetService
from omnidesk.channels.conversations.desk import Desk
from omnidesk.channels.conversations.endpoints import admin_router as channel_admin_router
from omnidesk.channels.conversations.endpoints import router as conversation_router
from omnidesk.channels.conversations.erasure import ConversationPersonalData
from omnidesk.channels.conversations.service import ConversationService
from omnidesk.channels.conversations.supervision import Supervision
from omnidesk.channels.email.adapter import EmailAdapter
from omnidesk.channels.email.reports import EmailReportMail
from omnidesk.channels.email.runtime import EmailChannel
from omnidesk.channels.messaging.endpoints import BODY_MODELS as MESSAGING_BODIES
from omnidesk.channels.messaging.endpoints import router as messaging_router
from omnidesk.channels.messaging.webhook import WebhookAdapter
from omnidesk.channels.messaging.whatsapp import WhatsAppAdapter
from omnidesk.channels.surveys import ConversationSurveys
from omnidesk.channels.switching import CallbackTarget, ConversationTarget, ConversationTranscripts
from omnidesk.channels.voice.call_endpoints import router as call_router
from omnidesk.channels.voice.endpoints import router as voice_router
from omnidesk.channels.voice.erasure import VoicePersonalData
from omnidesk.channels.voice.history_endpoints import router as history_router
from omnidesk.channels.voice.recording_endpoints import router as recording_router
from omnidesk.channels.voice.registration_endpoints import router as registration_router
from omnidesk.channels.voice.views import VoiceView
from omnidesk.channels.voice.webrtc_endpoints import router as browser_phone_router
from omnidesk.channels.voice.wiring import start_voice, stop_voice
from omnidesk.core.routing.errors import RoutingError
from omnidesk.crm.admin_endpoints import router as crm_admin_router
from omnidesk.crm.arrivals import CrmContactHooks
from omnidesk.crm.endpoints import router as crm_router
from omnidesk.crm.record_endpoints import router as crm_record_router
from omnidesk.crm.runtime import CrmRuntime
from omnidesk.crm.switches import ChannelSwitches
from omnidesk.directory.auth_endpoints import router as session_router
from omnidesk.directory.endpoints import router as directory_router
from omnidesk.directory.identity import DirectoryIdentities
from omnidesk.directory.im.endpoints import router as im_router
from omnidesk.directory.im.views import ImView
from omnidesk.directory.views import DirectoryView
from omnidesk.knowledge.endpoints import router as knowledge_router
from omnidesk.platform import migrate
from omnidesk.platform.auth.cache import PrincipalCache
from omnidesk.platform.auth.endpoints import router as auth_router
from omnidesk.platform.auth.ratelimit import LoginRateLimiter
from omnidesk.platform.bus import EventBus, InProcessBus
from omnidesk.platform.database import Database, await_chain
from omnidesk.platform.endpoints import api as platform_router
from omnidesk.platform.endpoints import probes
from omnidesk.platform.http import BodyLimitMiddleware, MetricsMiddleware, install_error_handlers
from omnidesk.platform.logging import get_logger
from omnidesk.platform.metrics import Metrics, count_statements
from omnidesk.platform.openapi import describe_api
from omnidesk.platform.realtime import Hub
from omnidesk.platform.sealing import install_key
from omnidesk.platform.services import AppServices
from omnidesk.platform.settings import Settings, apply_process_settings
from omnidesk.platform.webapp import WebAppMiddleware, default_web_dir
from omnidesk.qa.endpoints import router as quality_router
from omnidesk.qa.erasure import QualityPersonalData
from omnidesk.routing.endpoints import router as routing_router
from omnidesk.routing.erasure import RoutingPersonalData
from omnidesk.routing.presence import PresenceWatcher
from omnidesk.routing.service import RoutingService
from omnidesk.routing.version_endpoints import router as routing_version_router
from omnidesk.routing.views import RoutingView
from omnidesk.surveys.dispatch import SurveyDispatcher
from omnidesk.surveys.endpoints import page_router as survey_page_router
from omnidesk.surveys.endpoints import public_router as survey_public_router
from omnidesk.surveys.endpoints import router as survey_router
from omnidesk.surveys.erasure import SurveyPersonalData
from omnidesk.wfm.endpoints import router as wfm_router
from omnidesk.wfm.forecasting.endpoints import router as forecasting_router
from omnidesk.wfm.scheduling.endpoints import router as scheduling_router

API_PREFIX = "/api/v1"
# Swagger UI and ReDoc come from an installed package (fastapi-offline), served from here:
# a self-hosted machine without internet still shows the API docs.
DOCS_ASSETS = "/docs-assets"
API_ROUTERS: tuple[APIRouter, ...] = (
    session_router,
    auth_router,
    directory_router,
    platform_router,
    branding_router,
    routing_router,
    routing_version_router,
    wfm_router,
    forecasting_router,
    scheduling_router,
    voice_router,
    call_router,
    recording_router,
    history_router,
    registration_router,
    browser_phone_router,
    crm_router,
    crm_record_router,
    crm_admin_router,
    im_router,
    knowledge_router,
    analytics_router,
    analytics_export_router,
    analytics_schedule_router,
    conversation_router,
    channel_admin_router,
    messaging_router,
    chat_router,
    chat_admin_router,
    survey_router,
    survey_public_router,
    quality_router,
)
# Errors of the pure core carry their status and code as plain data; the platform renders them
# like its own (platform/errors.py, Problem).
PROBLEM_TYPES: tuple[type[Exception], ...] = (RoutingError,)
log = get_logger(__name__)
# A shutdown still running after this long is stuck on something: the log names what.
SLOW_SHUTDOWN_SECONDS = 20.0


async def _report_slow_shutdown() -> None:
    await asyncio.sleep(SLOW_SHUTDOWN_SECONDS)
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    log.warning(
        "shutdown is slow",
        seconds=SLOW_SHUTDOWN_SECONDS,
        tasks=sorted(f"{t.get_name()}: {await_chain(t)}" for t in tasks),
    )


def create_app(settings: Settings, *, bus: EventBus | None = None) -> FastAPI:
    apply_process_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            migrate.upgrade(settings.database_url)
        db = Database(settings.database_url)
        count_statements(db.engine, app.state.metrics)
        services = AppServices(
            settings=settings,
            db=db,
            bus=bus or InProcessBus(),
            limiter=LoginRateLimiter(settings.login_max_failures, settings.login_window_seconds),
            identities=DirectoryIdentities(),
            metrics=app.state.metrics,
            principals=PrincipalCache(settings.auth_cache_seconds),
        )
        app.state.services = services
        app.state.routing = RoutingService(
            db,
            services.bus,
            log_retention=timedelta(days=settings.routing_log_retention_days),
            engine_settings=settings.routing_engine_settings(),
            max_backlog=settings.routing_max_backlog,
        )
        voice_view = VoiceView(lambda: getattr(app.state, "voice", None))
        analytics_view = AnalyticsView(
            app.state.routing.queue_audience, app.state.routing.agent_audience
        )
        app.state.hub = Hub(
            services,
            [DirectoryView(), RoutingView(app.state.routing), voice_view, ImView(), analytics_view],
        )
        app.state.routing.start()
        # Honest presence: the hub says when a user's last socket closes, routing acts on it.
        app.state.presence = PresenceWatcher(
            app.state.routing,
            settings.presence_grace_seconds,
            connected=app.state.hub.connected,
            restored=app.state.routing.restored,
        )
        app.state.hub.on_presence(app.state.presence)
        app.state.presence.start()
        # Routing asks the CRM who a contact is from and whether a disposition is one of the
        # tenant's codes through its own ports (routing/hooks.py); neither imports the other.
        app.state.routing.hooks = CrmContactHooks(db, services.bus)
        # A customer's erasure reaches every part that keeps data about their contacts.
        holders = (
            RoutingPersonalData(),
            VoicePersonalData(settings.data_dir),
            ConversationPersonalData(settings.data_dir),
            SurveyPersonalData(),
            QualityPersonalData(),
        )
        app.state.crm = CrmRuntime(db, services.bus, holders)
        app.state.crm.start()
        # KPI rollups follow the event log (analytics/ingester.py).
        # ... and push each queue's and agent's figures of today to whoever sees the queue or
        # the agent (analytics/live.py).
        app.state.analytics = Ingester(
            db,
            services.bus,
            queue_audience=app.state.routing.queue_audience,
            agent_audience=app.state.routing.agent_audience,
        )
        app.state.analytics.start()
        # Digital channels: one conversation store, one adapter per account kind.
        email = EmailAdapter()
        adapters = (WhatsAppAdapter(), WebhookAdapter(), email, ChatAdapter())
        app.state.conversations = ConversationService(
            db,
            services.bus,
            app.state.routing,
            settings.data_dir,
            {adapter.kind: adapter for adapter in adapters},
            sealing_key=install_key(
                settings.secret_key.get_secret_value() if settings.secret_key else None,
                settings.data_dir,
            ),
        )
        app.state.conversation_desk = Desk(app.state.conversations)
        # Who views which conversation ends with the viewer's last socket (supervision.py).
        app.state.conversation_supervision = Supervision(app.state.conversation_desk)
        app.state.hub.on_presence(app.state.conversation_supervision)
        # Web chat: the widget's use cases and its visitors' sockets (fed by the bus).
        app.state.chat_widgets = WidgetService(app.state.conversations)
        app.state.chat_hub = VisitorHub(
            app.state.chat_widgets,
            services.bus,
            app.state.routing,
            queue_interval=settings.chat_queue_interval_seconds,
        )
        app.state.chat_hub.start()
        app.state.conversations.start()
        # Channel switches: the CRM's use case, the channels' contacts through its ports.
        app.state.crm_switches = ChannelSwitches(db, services.bus)
        app.state.crm_switches.register(
            CallbackTarget(lambda: getattr(app.state, "voice", None), app.state.routing)
        )
        for channel in ("email", "messaging", "chat"):
            app.state.crm_switches.register(ConversationTarget(app.state.conversations, channel))
        app.state.crm_switches.transcripts = ConversationTranscripts(app.state.conversations)
        app.state.email = EmailChannel(
            app.state.conversations,
            email,
            settings.data_dir,
            smtp_enabled=settings.email_smtp_enabled,
            smtp_host=settings.email_smtp_host,
            smtp_port=settings.email_smtp_port,
            smtp_hostname=settings.email_smtp_hostname,
            max_message_bytes=settings.email_max_message_bytes,
            imap_poll_seconds=settings.email_imap_poll_seconds,
            imap_idle_seconds=settings.email_imap_idle_seconds,
            reopen_limit=settings.email_reopen_limit,
            reopen_window_seconds=settings.email_reopen_window_seconds,
        )
        await app.state.email.start()
        # Post-contact surveys: sent into the ended contact's conversation (channels/surveys.py).
        app.state.surveys = SurveyDispatcher(
            db,
            services.bus,
            ConversationSurveys(app.state.conversations),
            public_url=settings.public_url or f"http://{settings.host}:{settings.port}",
        )
        app.state.surveys.start()
        # Scheduled report mails: built like the exports, sent from an email account.
        app.state.report_mail = EmailReportMail(app.state.conversations, email)
        app.state.report_scheduler = ReportScheduler(
            db, app.state.routing, services.identities, app.state.report_mail
        )
        app.state.report_scheduler.start()
        app.state.voice = None
        if settings.voice_enabled:
            app.state.voice = await start_voice(settings, services, app.state.routing)
        log.info("omnidesk started", database=db.backend)
        try:
            yield
        finally:
            watchdog = asyncio.create_task(_report_slow_shutdown(), name="shutdown-watchdog")
            if app.state.voice is not None:
                await stop_voice(app.state.voice)
            app.state.presence.close()
            await app.state.report_scheduler.stop()
            await app.state.surveys.stop()
            await app.state.email.stop()
            await app.state.chat_hub.stop()
            await app.state.conversations.stop()
            for adapter in adapters:
                await adapter.close()
            await app.state.crm.stop()
            await app.state.analytics.stop()
            await app.state.routing.stop()
            app.state.hub.close()
            await app.state.conversation_supervision.settled()
            await db.dispose()
            watchdog.cancel()

    app = FastAPIOffline(
        title="Omnidesk",
        version=omnidesk.__version__,
        summary="Self-hosted omnichannel contact center",
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
    )
    app.state.metrics = Metrics()
    install_error_handlers(app, PROBLEM_TYPES)
    describe_api(app, session_cookie=settings.session_cookie_name, body_models=MESSAGING_BODIES)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # WAV prompts are far larger than any JSON body; the route checks them itself too.
        overrides={
            f"{API_PREFIX}/voice/audio": settings.voice_audio_max_bytes,
            f"{API_PREFIX}/crm/imports": settings.crm_import_max_bytes,
            f"{API_PREFIX}/conversations": settings.channel_max_body_bytes,
            f"{API_PREFIX}/channels/webhook": settings.channel_max_body_bytes,
            f"{API_PREFIX}/chat/widget": settings.channel_max_body_bytes,
        },
    )
    # The chat widget runs on customers' sites: its public endpoints answer cross-origin.
    app.add_middleware(WidgetCorsMiddleware, prefix=f"{API_PREFIX}/chat/widget/")
    # ... and so does a survey the widget shows (the token is the credential, no cookies).
    app.add_middleware(WidgetCorsMiddleware, prefix=f"{API_PREFIX}/surveys/responses/")
    app.add_middleware(MetricsMiddleware, api_prefix=API_PREFIX)
    app.include_router(probes)
    app.include_router(survey_page_router)
    # The browser app at "/": every GET outside the API and the operations endpoints.
    app.add_middleware(WebAppMiddleware, directory=settings.web_dir or default_web_dir())
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    return app
