"""serve, migrate, create-tenant, create-user, demo."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from omnidesk.platform.errors import DomainError
from omnidesk.platform.settings import (
    Settings,
    SettingsError,
    apply_process_settings,
    load_settings,
)

console = Console()
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="sqlite:///path.db or postgresql://user@host/db", show_default=False
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", help="YAML settings file (env OMNIDESK_* wins over it)", show_default=False
    ),
]


def _settings(config: Path | None, **overrides: object) -> Settings:
    try:
        settings = load_settings(config, **overrides)
    except SettingsError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    apply_process_settings(settings)
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    # Escaped: messages quote user input, and "[/x]" would otherwise crash rich's markup parser.
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def _print_logins(tenant: str, logins: list) -> None:  # type: ignore[type-arg]
    table = Table(title=f"Demo tenant '{tenant}' — log in with these (shown once)")
    for column in ("tenant", "username", "role", "password"):
        table.add_column(column)
    for login in logins:
        table.add_row(tenant, login.username, login.role, login.password)
    console.print(table)


async def _with_db(settings: Settings, fn):  # type: ignore[no-untyped-def]
    from omnidesk.platform.database import Database

    db = Database(settings.database_url)
    try:
        return await fn(db)
    finally:
        await db.dispose()


def _migrate(settings: Settings) -> None:
    from omnidesk.platform import migrate

    try:
        migrate.upgrade(settings.database_url)
    except Exception as exc:
        raise _fail(f"cannot migrate {_masked(settings.database_url)}: {exc}") from exc


def _masked(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo tenant if the database has no tenant")
    ] = False,
) -> None:
    """Migrate the database and serve the HTTP API and the realtime socket."""
    import uvicorn

    from omnidesk.platform.app import create_app
    from omnidesk.platform.logging import configure_logging

    settings = _settings(config, host=host, port=port, database_url=database_url)
    configure_logging(settings.log_format, settings.log_level)
    _migrate(settings)
    if demo:
        _load_demo_if_empty(settings)
    console.print(f"Omnidesk on http://{settings.host}:{settings.port}  (API docs at /docs)")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=settings.environment == "production",
    )


def _load_demo_if_empty(settings: Settings) -> None:
    from sqlalchemy import func, select

    from omnidesk.directory.demo import DEMO_SLUG, load_demo
    from omnidesk.platform.database import SYSTEM
    from omnidesk.platform.tenancy import Tenant

    async def go(db):  # type: ignore[no-untyped-def]
        session = db.session(SYSTEM)
        try:
            count = await session.scalar(select(func.count()).select_from(Tenant))
        finally:
            await session.close()
        return None if count else await load_demo(db)

    logins = asyncio.run(_with_db(settings, go))
    if logins:
        _print_logins(DEMO_SLUG, logins)


def migrate_cmd(database_url: DatabaseUrl = None, config: ConfigFile = None) -> None:
    """Bring the database schema up to date."""
    from omnidesk.platform import migrate

    settings = _settings(config, database_url=database_url)
    _migrate(settings)
    console.print(f"database at revision {migrate.current_revision(settings.database_url)}")


def create_tenant_cmd(
    slug: Annotated[str, typer.Option(help="Short id used at login, e.g. acme")],
    name: Annotated[str, typer.Option(help="Display name")],
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Create a tenant (a client company of this install)."""
    from omnidesk.platform.database import SYSTEM
    from omnidesk.platform.tenancy import create_tenant

    settings = _settings(config, database_url=database_url)
    _migrate(settings)

    async def go(db):  # type: ignore[no-untyped-def]
        session = db.session(SYSTEM)
        try:
            tenant = await create_tenant(session, slug, name)
            await session.commit()
            return tenant
        finally:
            await session.close()

    try:
        tenant = asyncio.run(_with_db(settings, go))
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"tenant {tenant.slug} created ({tenant.id})")


def create_user_cmd(
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    username: Annotated[str, typer.Option(help="Login name (lowercase)")],
    role: Annotated[str, typer.Option(help="admin, supervisor or agent")] = "agent",
    display_name: Annotated[str | None, typer.Option(help="Shown name (default: username)")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Password (asked for when omitted; env OMNIDESK_PASSWORD)",
            envvar="OMNIDESK_PASSWORD",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Create a user in a tenant."""
    from pydantic import ValidationError

    from omnidesk.directory import service
    from omnidesk.directory.schemas import UserCreate
    from omnidesk.platform.bus import InProcessBus
    from omnidesk.platform.database import SCOPE_KEY, SYSTEM
    from omnidesk.platform.tenancy import tenant_by_slug
    from omnidesk.platform.uow import UnitOfWork

    settings = _settings(config, database_url=database_url)
    if password is None:
        password = getpass.getpass("password: ")
    try:
        data = UserCreate(
            username=username, display_name=display_name or username, role=role, password=password
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(problems, 2) from exc
    _migrate(settings)

    async def go(db):  # type: ignore[no-untyped-def]
        session = db.session(SYSTEM)
        try:
            found = await tenant_by_slug(session, tenant)
            if found is None:
                raise _fail(f"no tenant {tenant!r}", 1)
            session.info[SCOPE_KEY] = found.id
            async with UnitOfWork(session, InProcessBus(), tenant_id=found.id) as uow:
                return await service.create_user(uow, None, data)
        finally:
            await session.close()

    try:
        user = asyncio.run(_with_db(settings, go))
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"user {user.username} ({user.role.value}) created in {tenant}")


def demo_cmd(database_url: DatabaseUrl = None, config: ConfigFile = None) -> None:
    """Load the demo tenant and print its users' passwords."""
    from omnidesk.directory.demo import DEMO_SLUG, load_demo

    settings = _settings(config, database_url=database_url)
    _migrate(settings)
    try:
        logins = asyncio.run(_with_db(settings, load_demo))
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    _print_logins(DEMO_SLUG, logins)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("migrate")(migrate_cmd)
    app.command("create-tenant")(create_tenant_cmd)
    app.command("create-user")(create_user_cmd)
    app.command("demo")(demo_cmd)
