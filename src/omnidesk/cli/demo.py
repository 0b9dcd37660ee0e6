"""`omnidesk demo` (set the demo center up) and `omnidesk demo traffic` (play calls and agents
into a running server). docs/getting-started.md walks through both."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from omnidesk.cli.platform_cmds import (
    ConfigFile,
    DatabaseUrl,
    _fail,
    _migrate,
    _settings,
    _with_db,
    console,
    err,
)
from omnidesk.platform.errors import DomainError

if TYPE_CHECKING:
    from omnidesk.demo.center import DemoCenter
    from omnidesk.platform.settings import Settings

demo_app = typer.Typer(
    help="The demo center: `omnidesk demo` sets it up, `omnidesk demo traffic` plays calls.",
    add_completion=False,
)


def load_center(settings: Settings) -> DemoCenter:
    """Set the demo center up and keep its manifest; DomainError if the tenant exists."""
    from omnidesk.demo.center import load_center as load
    from omnidesk.demo.manifest import Manifest, manifest_path, write_manifest

    center: DemoCenter = asyncio.run(_with_db(settings, lambda db: load(db, settings)))
    write_manifest(manifest_path(settings.data_dir), Manifest.of(center))
    return center


def print_center(center: DemoCenter, settings: Settings) -> None:
    from omnidesk.demo.manifest import manifest_path

    table = Table(title=f"Demo tenant '{center.tenant}' — log in with these (shown once)")
    for column in ("tenant", "username", "role", "password"):
        table.add_column(column)
    for login in center.logins:
        table.add_row(center.tenant, login.username, login.role, login.password)
    console.print(table)
    phones = Table(title=f"Softphone logins (SIP domain {center.sip_domain})")
    for column in ("user", "SIP username", "SIP password"):
        phones.add_column(column)
    for sip in center.sip_logins:
        phones.add_row(sip.user, sip.username, sip.password)
    console.print(phones)
    sip_at = f"sip:{settings.voice_host}:{settings.voice_sip_port}"
    voice = (
        f"Softphones register and callers call at {sip_at}"
        if settings.voice_enabled
        else f"Voice is off: serve with OMNIDESK_VOICE_ENABLED=true (SIP then at {sip_at})"
    )
    console.print(
        f"Number {center.number} → IVR (1 support, 2 sales, 3 message, 9 Deutsch); queues "
        f"{', '.join(center.queues)}.\n{voice}; docs/getting-started.md has a first call.\n"
        f"These passwords are also kept for `omnidesk demo traffic` in "
        f"{manifest_path(settings.data_dir)} (readable only by you)."
    )


@demo_app.callback(invoke_without_command=True)
def demo(ctx: typer.Context, database_url: DatabaseUrl = None, config: ConfigFile = None) -> None:
    """Set the demo center up in the tenant 'demo' and print its logins (once: a second run
    changes nothing and exits 1)."""
    if ctx.invoked_subcommand is not None:
        return
    from omnidesk.directory.demo import DEMO_SLUG

    settings = _settings(config, database_url=database_url)
    _migrate(settings)
    try:
        center = load_center(settings)
    except DomainError as exc:
        raise _fail(
            f"{exc.detail}: the demo center is set up once, nothing was changed (its passwords "
            f"were printed then; `omnidesk reset-password --tenant {DEMO_SLUG}` sets new ones)"
        ) from exc
    print_center(center, settings)


@demo_app.command("traffic")
def traffic(
    url: Annotated[
        str | None, typer.Option(help="The running server (default: from the settings)")
    ] = None,
    tenant: Annotated[str, typer.Option(help="The demo tenant")] = "demo",
    calls_per_minute: Annotated[
        float, typer.Option(min=0.1, max=600, help="New calls per minute")
    ] = 6.0,
    agents: Annotated[
        int, typer.Option(min=0, help="Simulated agents who answer (at most the demo's agents)")
    ] = 0,
    seconds: Annotated[
        float | None, typer.Option(min=1, help="Stop after this long (default: at Ctrl-C)")
    ] = None,
    sip_port: Annotated[
        int | None,
        typer.Option(help="The voice server's SIP port on this machine (default: the settings')"),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(help="What `omnidesk demo` kept (default: <data_dir>/demo/demo.json)"),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """Play calls into a running server until Ctrl-C or --seconds: sipp callers dial the demo
    number from this machine (the demo's trunk takes local callers) and key a menu choice;
    with --agents, demo agents with baresip softphones answer, talk, hang up and wrap up.
    A progress line on stderr says what happens."""
    from omnidesk.demo.manifest import ManifestError, manifest_path, read_manifest
    from omnidesk.demo.traffic import Traffic, TrafficError, run_traffic

    settings = _settings(config)
    try:
        known = read_manifest(manifest or manifest_path(settings.data_dir))
    except ManifestError as exc:
        raise _fail(str(exc)) from exc
    if known.tenant != tenant:
        raise _fail(f"the manifest is of tenant {known.tenant!r}, not {tenant!r}")
    plan = Traffic(
        url=url or f"http://{settings.host}:{settings.port}",
        manifest=known,
        sip_port=sip_port or settings.voice_sip_port,
        calls_per_minute=calls_per_minute,
        agents=agents,
        seconds=seconds,
    )
    try:
        summary = asyncio.run(run_traffic(plan, err))
    except TrafficError as exc:
        raise _fail(str(exc)) from exc
    except KeyboardInterrupt:
        return
    console.print(summary)


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
