"""Creating and stopping the voice server inside the app's lifespan."""

from __future__ import annotations

from aiortc import RTCIceServer

from omnidesk.channels.voice import live_quality
from omnidesk.channels.voice.audio import AudioStore
from omnidesk.channels.voice.ice import IceSource, TurnRest
from omnidesk.channels.voice.lookups import VoiceLookups
from omnidesk.channels.voice.server import VoiceServer
from omnidesk.channels.voice.vault import install_key
from omnidesk.platform.services import AppServices
from omnidesk.platform.settings import Settings
from omnidesk.routing.api import Routing


async def start_voice(settings: Settings, services: AppServices, routing: Routing) -> VoiceServer:
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    lookups = VoiceLookups(
        services.db,
        services.bus,
        sealing_key=install_key(secret, settings.data_dir),
        audio=AudioStore(settings.data_dir),
    )
    lookups.start()
    server = VoiceServer(
        db=services.db,
        bus=services.bus,
        routing=routing,
        lookups=lookups,
        data_dir=settings.data_dir,
        host=settings.voice_host,
        sip_port=settings.voice_sip_port,
        rtp_ports=(settings.voice_rtp_port_min, settings.voice_rtp_port_max)
        if settings.voice_rtp_port_min
        else None,
        ring_timeout_s=settings.voice_ring_timeout_seconds,
        answer_media_timeout_s=settings.voice_answer_media_timeout_seconds,
    )
    server.browser_phones.ice_servers = ice_servers(settings)
    server.browser_phones.addresses = [str(a) for a in settings.voice_webrtc_addresses]
    server.browser_phones.opus = settings.voice_webrtc_opus
    server.browser_phones.connect_timeout_s = settings.voice_webrtc_connect_timeout_seconds
    await server.start()
    if settings.voice_live_quality_seconds > 0:
        server.spawn(
            live_quality.report(server, settings.voice_live_quality_seconds), "voice-live-quality"
        )
    return server


def ice_servers(settings: Settings) -> list[IceSource]:
    """voice_ice_servers as aiortc takes them (and as the desk's RTCPeerConnection does); a
    TURN server with a secret mints each user's credentials when asked (ice.py)."""
    return [
        TurnRest(s.urls, s.secret.get_secret_value(), s.ttl_seconds)
        if s.secret is not None
        else RTCIceServer(
            urls=s.urls,
            username=s.username,
            credential=s.credential.get_secret_value() if s.credential else None,
        )
        for s in settings.voice_ice_servers
    ]


async def stop_voice(server: VoiceServer) -> None:
    await server.stop()
    server.lookups.close()
