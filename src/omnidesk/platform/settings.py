"""Typed settings: defaults < YAML file < environment (OMNIDESK_*) < explicit overrides.

Nothing here runs at import time: `load_settings()` is called by the CLI and by `create_app`.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    IPvAnyAddress,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

if TYPE_CHECKING:
    from omnidesk.core.routing.model import EngineSettings


class SettingsError(Exception):
    """The configuration cannot be used; the message names the file or field."""


class IceServer(BaseModel):
    """A STUN or TURN server for the browser phone's WebRTC (ADR 0030, "ICE servers"): the
    server's aiortc and the agents' browsers both use it."""

    model_config = {"extra": "forbid"}

    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: SecretStr | None = None
    # A TURN server with coturn's `use-auth-secret` (the TURN REST API): Omnidesk mints a
    # short-lived username/credential per user from this shared secret instead of handing
    # every desk one static password (docs/voice.md, "Short-lived TURN credentials").
    secret: SecretStr | None = None
    ttl_seconds: int = Field(default=86400, ge=60, le=7 * 86400)

    @field_validator("urls", mode="before")
    @classmethod
    def _one_url(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _urls_valid(cls, urls: list[str]) -> list[str]:
        # aiortc's own parser: a URL it cannot read would otherwise only fail at a call.
        from aiortc.rtcicetransport import parse_stun_turn_uri

        for url in urls:
            try:
                parsed = parse_stun_turn_uri(url)
            except ValueError:
                raise ValueError(
                    f"{url!r} is not a STUN or TURN URL (stun:host[:port], "
                    "turn:host[:port][?transport=udp|tcp], turns:host[:port])"
                ) from None
            if parsed["scheme"] not in ("stun", "turn", "turns"):
                raise ValueError(f"{url!r}: only stun:, turn: and turns: are supported")
            # aiortc would skip any other quietly (turns: is TLS over TCP).
            allowed = {"turn": ("udp", "tcp"), "turns": ("tcp",)}.get(parsed["scheme"])
            if allowed and parsed["transport"] not in allowed:
                raise ValueError(f"{url!r}: the transport must be one of {', '.join(allowed)}")
        return urls

    @model_validator(mode="after")
    def _turn_has_credentials(self) -> IceServer:
        turn = [u for u in self.urls if u.startswith("turn")]
        static = bool(self.username) or self.credential is not None
        if self.secret is not None and static:
            raise ValueError("a server has either a secret or a username and credential")
        if self.secret is not None and not turn:
            raise ValueError("a secret is for TURN servers (turn: or turns: URLs)")
        if turn and self.secret is None and (not self.username or self.credential is None):
            raise ValueError(
                f"{turn[0]!r}: a TURN server needs a username and a credential, or a secret"
            )
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNIDESK_", extra="forbid")

    database_url: str = "sqlite:///./var/omnidesk.db"
    # Files the database does not hold (voice prompts and recordings, the sealing key file).
    data_dir: Path = Path("./var")
    # Seals secrets kept reversibly (outbound SIP trunk passwords); every node must share it.
    # Unset: a random key file in data_dir is made on first use.
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    environment: Literal["development", "production"] = "development"
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    auto_migrate: bool = True
    # The address customers reach this server at (links in survey invitations), e.g.
    # https://desk.example.com; unset: http://{host}:{port}.
    public_url: str | None = None

    session_cookie_name: str = "omnidesk_session"
    csrf_cookie_name: str = "omnidesk_csrf"
    csrf_header_name: str = "X-CSRF-Token"
    cookie_secure: bool = False
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    session_idle_seconds: int = Field(default=2 * 3600, ge=60)
    # How long a resolved session or token is remembered by this process (platform/auth/cache.py):
    # changes made through this process apply at once, those of another node or of the CLI at
    # most this late. 0: every request reads the database.
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # Browsers must come from one of these origins to open the realtime socket with a cookie
    # (cross-site WebSocket hijacking); empty means "same host as the request".
    allowed_origins: list[str] = Field(default_factory=list)

    # argon2id cost (argon2-cffi's defaults: RFC 9106 low-memory profile).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)

    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    realtime_queue_size: int = Field(default=10_000, ge=10)
    realtime_page_size: int = Field(default=500, ge=10)
    # Recent events kept per connected tenant, so that a client resuming by id soon after a
    # network blip is replayed from memory, not from the database (0: always the database).
    realtime_replay_buffer: int = Field(default=1000, ge=0)
    # Sockets doing their own database work (authenticating, replaying from the log) at once,
    # per process. Each piece is CPU work in the one event loop: with more at once each only
    # holds its database connection longer, and a reconnect storm would take the whole pool
    # (10 + 20 on PostgreSQL) from commands and commits. Kept well under the pool; the other
    # sockets wait for a turn here, holding nothing.
    realtime_db_turns: int = Field(default=4, ge=1)

    # Uploaded WAV prompts; the upload route's body limit instead of max_body_bytes.
    voice_audio_max_bytes: int = Field(default=5_000_000, ge=1024)
    # CSV files of customers to import (POST /api/v1/crm/imports/customers).
    crm_import_max_bytes: int = Field(default=20_000_000, ge=1024)
    # Bodies of digital channels' uploads and webhooks (files inline, base64): the routes'
    # limit instead of max_body_bytes. Each tenant's attachment limits apply within it.
    channel_max_body_bytes: int = Field(default=30_000_000, ge=1024)
    # How often a waiting chat visitor's queue position and estimated wait are looked up
    # (sent only when they change).
    chat_queue_interval_seconds: float = Field(default=3.0, gt=0, le=60)

    # Email: the built-in SMTP listener takes mail for the email accounts' addresses. Off
    # unless asked for, so a process that only serves the API never takes the port.
    email_smtp_enabled: bool = False
    email_smtp_host: str = "127.0.0.1"
    # 0: any free port the system gives (tests).
    email_smtp_port: int = Field(default=2525, ge=0, le=65535)
    # The name the listener greets with (default: this machine's name).
    email_smtp_hostname: str | None = None
    # Mail larger than this is refused at DATA (552).
    email_max_message_bytes: int = Field(default=30_000_000, ge=10_000)
    # IMAP mailboxes of email accounts: how often a mailbox without IDLE is polled (and how
    # soon a new account is noticed); how long one IDLE lasts before it is renewed.
    email_imap_poll_seconds: float = Field(default=60.0, gt=0)
    email_imap_idle_seconds: float = Field(default=300.0, gt=0, le=1740)
    # The per-thread reopen rate limit that stops mail loops: at most this many new routing
    # contacts for one thread within the window; mail beyond it is stored, not routed.
    email_reopen_limit: int = Field(default=3, ge=1)
    email_reopen_window_seconds: float = Field(default=3600.0, gt=0)

    # The voice server (SIP on UDP and TCP, RTP on a port range). Off unless asked for, so a
    # process that only serves the API never takes the SIP port.
    voice_enabled: bool = False
    voice_host: str = "127.0.0.1"
    voice_sip_port: int = Field(default=5060, ge=0, le=65535)
    # 0: any free even port the system gives (tests; several servers on one host).
    voice_rtp_port_min: int = Field(default=20000, ge=0, le=65534)
    voice_rtp_port_max: int = Field(default=30000, ge=1025, le=65535)
    voice_ring_timeout_seconds: float = Field(default=30.0, gt=0)
    # After a softphone answers an offer: how long without its audio (RTP) until the answer
    # counts as "media failed" and the call goes back to routing. 0: do not wait for audio.
    voice_answer_media_timeout_seconds: float = Field(default=5.0, ge=0)
    # STUN/TURN servers for the browser phone's WebRTC, used by the server and handed to the
    # agents' browsers (JSON in the environment: [{"urls": ["turn:turn.example.com:3478"],
    # "username": "u", "credential": "p"}]). Empty: host candidates only (same network).
    voice_ice_servers: list[IceServer] = Field(default_factory=list)
    # The addresses the browser phone's host candidates may be on (the server's SDP answers
    # name no others). Empty: every interface but loopback, aiortc's choice.
    voice_webrtc_addresses: list[IPvAnyAddress] = Field(default_factory=list)
    # How often a connected call's audio figures are pushed (voice.call_quality) to its agent
    # and the supervisors following it; 0: only on the call's record at its end.
    # Let the browser phone use Opus when the browser offers it (it prefers Opus then), for
    # its loss concealment on poor networks; off: G.711 only, no transcoding (Opus costs CPU:
    # docs/voice.md, the browser phone bench).
    voice_webrtc_opus: bool = False
    # How long a browser phone's answered connection may take to come up (ICE and DTLS) before
    # its leg ends with "ICE did not complete" (a queued call goes back to the queue). aioice
    # alone would go on checking for about a minute, or for ever without end-of-candidates.
    # 0: no deadline.
    voice_webrtc_connect_timeout_seconds: float = Field(default=10.0, ge=0)
    voice_live_quality_seconds: float = Field(default=15.0, ge=0, le=3600)

    # The built browser app (web/dist, made by `make install`), served at "/". Unset: the
    # source tree's web/dist.
    web_dir: Path | None = None
    # An agent whose last realtime socket closed (browser closed, network lost) is taken out of
    # routing after this many seconds (pending offers go to someone else); coming back within
    # it keeps their state. 0: at once.
    presence_grace_seconds: float = Field(default=60.0, ge=0, le=3600)

    # Routing log compaction: entries (and snapshots) older than this many days that restore
    # no longer needs are pruned after each snapshot. 0 keeps only what restore needs.
    routing_log_retention_days: int = Field(default=7, ge=0)
    # Overload: while more than this many routing commands of one tenant wait to be applied or
    # committed, creating a new contact over the API is refused (429, Retry-After); agents'
    # answers, ends and state changes always go through. 0: never refuse.
    routing_max_backlog: int = Field(default=200, ge=0)

    # The routing engine: core.routing.EngineSettings field for field (docs/routing.md). None
    # (unset): the engine's own default, so the server and the digital twin share one set of
    # defaults. Checked by the engine's validation (_routing_engine_valid), not repeated here.
    routing_missed_state: Literal["away", "available"] | None = None
    routing_missed_reason: str | None = None
    routing_max_overflow_hops: int | None = None
    routing_rescan_on_tick: bool | None = None
    routing_handle_time_smoothing: float | None = None
    routing_agent_contact_wrap_up_seconds: float | None = None
    routing_tick_seconds: float | None = None

    def routing_engine_settings(self) -> EngineSettings:
        """The settings every tenant's routing engine runs with: the engine's defaults with
        the `routing_*` settings that are set."""
        # Imported here: the engine is not needed for `omnidesk --help`.
        from omnidesk.core.routing.model import EngineSettings

        given = {f.name: getattr(self, f"routing_{f.name}") for f in fields(EngineSettings)}
        return EngineSettings(**{k: v for k, v in given.items() if v is not None})

    @model_validator(mode="after")
    def _routing_engine_valid(self) -> Settings:
        from omnidesk.core.routing.errors import InvalidDefinition
        from omnidesk.core.routing.model import validate_settings

        try:
            validate_settings(self.routing_engine_settings())
        except InvalidDefinition as exc:
            # "settings.max_overflow_hops: ..." is the setting routing_max_overflow_hops.
            raise ValueError(exc.message.replace("settings.", "routing_", 1)) from None
        return self


class _YamlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path} must hold a mapping of setting: value")
    return data


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    # A check across fields (the routing engine's) names its setting in its message.
    if where:
        return f"{where}: {error['msg']}"
    return str(error.get("ctx", {}).get("error", error["msg"]))


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings; `overrides` (e.g. CLI flags) win over env, env wins over the YAML file."""
    file_data = _read_yaml(Path(config_file)) if config_file else {}

    class _Configured(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _YamlSource(settings_cls, file_data))

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        configured = _Configured(**clean)
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from exc
    except PydanticSettingsError as exc:
        # e.g. OMNIDESK_ALLOWED_ORIGINS that is not JSON: raised while reading the environment.
        raise SettingsError(f"invalid settings: {exc}") from exc
    return Settings.model_validate(configured.model_dump())


def apply_process_settings(settings: Settings) -> None:
    """Process-wide knobs taken from settings, applied by whoever starts Omnidesk (app or CLI)."""
    from omnidesk.platform.auth.passwords import configure_hasher

    configure_hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
