"""Typed settings: defaults < YAML file < environment (OMNIDESK_*) < explicit overrides."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnidesk.platform.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's or CI's own OMNIDESK_* variables must not leak into these tests."""
    for name in list(os.environ):
        if name.upper().startswith("OMNIDESK_"):
            monkeypatch.delenv(name)


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "omnidesk.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings()
    assert isinstance(settings, Settings)
    assert settings.database_url.startswith("sqlite:///")
    assert (settings.host, settings.port, settings.environment) == (
        "127.0.0.1",
        8000,
        "development",
    )
    assert settings.allowed_origins == []


def test_yaml_file_is_read(tmp_path: Path) -> None:
    path = _yaml(
        tmp_path,
        "port: 8100\n"
        "database_url: postgresql://omnidesk@db/omnidesk\n"
        "environment: production\n"
        "allowed_origins:\n  - https://desk.example.com\n"
        "login_max_failures: 7\n",
    )
    settings = load_settings(path)
    assert settings.port == 8100
    assert settings.database_url == "postgresql://omnidesk@db/omnidesk"
    assert settings.environment == "production"
    assert settings.allowed_origins == ["https://desk.example.com"]
    assert settings.login_max_failures == 7
    assert settings.host == "127.0.0.1"  # not in the file: the default
    assert load_settings(str(path)).port == 8100  # a str path works as well


def test_environment_beats_yaml_and_overrides_beat_both(tmp_path: Path, monkeypatch) -> None:
    path = _yaml(tmp_path, "port: 8100\nhost: 0.0.0.0\nlog_level: debug\n")
    monkeypatch.setenv("OMNIDESK_PORT", "9000")
    monkeypatch.setenv("OMNIDESK_LOG_LEVEL", "warning")
    monkeypatch.setenv("OMNIDESK_ALLOWED_ORIGINS", '["https://a.example", "https://b.example"]')
    settings = load_settings(path)
    assert settings.port == 9000
    assert settings.log_level == "warning"
    assert settings.host == "0.0.0.0"  # only in the file
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    # Explicit overrides (CLI flags) win; a flag that was not given (None) does not count.
    settings = load_settings(path, port=7000, host=None, database_url="sqlite:///x.db")
    assert (settings.port, settings.host, settings.database_url) == (
        7000,
        "0.0.0.0",
        "sqlite:///x.db",
    )
    assert load_settings(None).port == 9000


def test_empty_yaml_file_means_defaults(tmp_path: Path) -> None:
    assert load_settings(_yaml(tmp_path, "# nothing configured yet\n")).port == 8000


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("port: [8000\n", ["not valid YAML"]),
        ("port: 8000\n  host: x\n", ["not valid YAML"]),
        ("- port\n- 8000\n", ["mapping"]),
        ("just a string\n", ["mapping"]),
        ("port: 8000\nprot: 8001\n", ["prot"]),
        ("database: sqlite:///x.db\n", ["database"]),
        ("port: eighty\n", ["port"]),
        ("port: 70000\n", ["port"]),
        ("environment: staging\n", ["environment"]),
        ("allowed_origins: https://a.example\n", ["allowed_origins"]),
        ("session_ttl_seconds: 5\n", ["session_ttl_seconds"]),
    ],
)
def test_bad_yaml_is_a_settings_error(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = _yaml(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    if "YAML" in fragments[0] or "mapping" in fragments[0]:
        assert str(path) in message, "the message names the file"


def test_missing_or_unreadable_file_is_a_settings_error(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.yaml", tmp_path):
        with pytest.raises(SettingsError, match="cannot read config file"):
            load_settings(path)


def test_bad_environment_and_overrides_are_settings_errors(monkeypatch) -> None:
    monkeypatch.setenv("OMNIDESK_PORT", "not-a-port")
    with pytest.raises(SettingsError, match="port"):
        load_settings()
    monkeypatch.delenv("OMNIDESK_PORT")
    monkeypatch.setenv("OMNIDESK_ALLOWED_ORIGINS", "[not json")
    with pytest.raises(SettingsError, match="allowed_origins"):
        load_settings()
    monkeypatch.delenv("OMNIDESK_ALLOWED_ORIGINS")
    with pytest.raises(SettingsError, match="max_body_bytes"):
        load_settings(max_body_bytes=10)
    with pytest.raises(SettingsError, match="no_such_setting"):
        load_settings(no_such_setting=1)


def test_nothing_reads_config_or_connects_at_import() -> None:
    # Importing the app and CLI with unusable settings must not fail: they are read at startup.
    env = {
        **os.environ,
        "OMNIDESK_PORT": "not-a-port",
        "OMNIDESK_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    code = "import omnidesk.app, omnidesk.cli.main, omnidesk.cli.platform_cmds"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_routing_engine_settings_default_to_the_engines_own() -> None:
    from omnidesk.core.routing import EngineSettings

    assert load_settings().routing_engine_settings() == EngineSettings()


def test_routing_engine_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIDESK_ROUTING_MISSED_STATE", "available")
    monkeypatch.setenv("OMNIDESK_ROUTING_MAX_OVERFLOW_HOPS", "2")
    monkeypatch.setenv("OMNIDESK_ROUTING_AGENT_CONTACT_WRAP_UP_SECONDS", "0")
    engine = load_settings().routing_engine_settings()
    assert (engine.missed_state, engine.max_overflow_hops) == ("available", 2)
    assert engine.agent_contact_wrap_up_seconds == 0
    assert engine.tick_seconds == 1.0  # not set: the engine's default


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "OMNIDESK_ROUTING_MAX_OVERFLOW_HOPS",
            "500",
            "routing_max_overflow_hops: an integer 0-100",
        ),
        ("OMNIDESK_ROUTING_TICK_SECONDS", "0", "routing_tick_seconds: out of range"),
        ("OMNIDESK_ROUTING_MISSED_STATE", "gone", "routing_missed_state: Input should be"),
    ],
)
def test_bad_routing_engine_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_voice_ice_servers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OMNIDESK_VOICE_ICE_SERVERS",
        '[{"urls": "stun:stun.example.com:3478"},'
        ' {"urls": ["turn:turn.example.com?transport=tcp"], "username": "u",'
        ' "credential": "s3cret"}]',
    )
    stun, turn = load_settings().voice_ice_servers
    assert stun.urls == ["stun:stun.example.com:3478"] and stun.username is None
    assert turn.urls == ["turn:turn.example.com?transport=tcp"] and turn.username == "u"
    assert turn.credential is not None and turn.credential.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(turn)  # the TURN password is not logged with the settings


def test_voice_webrtc_addresses_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIDESK_VOICE_WEBRTC_ADDRESSES", '["192.0.2.7", "2001:db8::7"]')
    assert [str(a) for a in load_settings().voice_webrtc_addresses] == ["192.0.2.7", "2001:db8::7"]
    monkeypatch.setenv("OMNIDESK_VOICE_WEBRTC_ADDRESSES", '["eth0"]')
    with pytest.raises(SettingsError, match="voice_webrtc_addresses"):
        load_settings()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('[{"urls": ["http://stun.example.com"]}]', "is not a STUN or TURN URL"),
        ('[{"urls": ["stuns:stun.example.com"]}]', "only stun:, turn: and turns:"),
        ('[{"urls": ["turn:t.example.com?transport=tls"]}]', "must be one of udp, tcp"),
        ('[{"urls": ["turns:t.example.com?transport=udp"]}]', "must be one of tcp"),
        ('[{"urls": ["turn:turn.example.com"]}]', "needs a username and a credential"),
        ('[{"urls": ["turn:t.example.com"], "username": "u"}]', "needs a username and a cred"),
        (
            '[{"urls": ["turn:t.example.com"], "username": "u", "credential": "p", "secret": "s"}]',
            "either a secret or a username",
        ),
        ('[{"urls": ["stun:s.example.com"], "secret": "s"}]', "a secret is for TURN servers"),
        ('[{"urls": ["turn:t.example.com"], "secret": "s", "ttl_seconds": 5}]', "ttl_seconds"),
        ('[{"urls": []}]', "voice_ice_servers.0.urls"),
        ('[{"url": "stun:s.example.com"}]', "voice_ice_servers.0.url"),
        ("stun:stun.example.com", "voice_ice_servers"),
    ],
)
def test_bad_voice_ice_servers_are_named(
    monkeypatch: pytest.MonkeyPatch, value: str, fragment: str
) -> None:
    monkeypatch.setenv("OMNIDESK_VOICE_ICE_SERVERS", value)
    with pytest.raises(SettingsError, match="invalid settings") as failed:
        load_settings()
    assert fragment in str(failed.value)
