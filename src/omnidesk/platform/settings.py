"""Typed settings: defaults < YAML file < environment (OMNIDESK_*) < explicit overrides.

Nothing here runs at import time: `load_settings()` is called by the CLI and by `create_app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError


class SettingsError(Exception):
    """The configuration cannot be used; the message names the file or field."""


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

    session_cookie_name: str = "omnidesk_session"
    csrf_cookie_name: str = "omnidesk_csrf"
    csrf_header_name: str = "X-CSRF-Token"
    cookie_secure: bool = False
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    session_idle_seconds: int = Field(default=2 * 3600, ge=60)
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

    # Uploaded WAV prompts; the upload route's body limit instead of max_body_bytes.
    voice_audio_max_bytes: int = Field(default=5_000_000, ge=1024)

    # The voice server (SIP on UDP and TCP, RTP on a port range). Off unless asked for, so a
    # process that only serves the API never takes the SIP port.
    voice_enabled: bool = False
    voice_host: str = "127.0.0.1"
    voice_sip_port: int = Field(default=5060, ge=0, le=65535)
    # 0: any free even port the system gives (tests; several servers on one host).
    voice_rtp_port_min: int = Field(default=20000, ge=0, le=65534)
    voice_rtp_port_max: int = Field(default=30000, ge=1025, le=65535)
    voice_ring_timeout_seconds: float = Field(default=30.0, gt=0)


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
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
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
