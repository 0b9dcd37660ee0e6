"""serve, migrate, create-tenant, create-user, reset-password (demo: cli/demo.py)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from omnidesk.platform.errors import DomainError
from omnidesk.platform.settings import (
    Settings,
    SettingsError,
    apply_process_settings,
    load_settings,
)
from omnidesk.platform.uow import UnitOfWork

T = TypeVar("T")
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

    from omnidesk.app import create_app
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
    """The demo center (cli/demo.py) on a database without any tenant: the first start."""
    from sqlalchemy import func, select

    from omnidesk.cli.demo import load_center, print_center
    from omnidesk.platform.database import SYSTEM
    from omnidesk.platform.tenancy import Tenant

    async def count(db):  # type: ignore[no-untyped-def]
        session = db.session(SYSTEM)
        try:
            return await session.scalar(select(func.count()).select_from(Tenant))
        finally:
            await session.close()

    if not asyncio.run(_with_db(settings, count)):
        print_center(load_center(settings), settings)


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
    from omnidesk.directory import service
    from omnidesk.directory.schemas import UserCreate

    settings = _settings(config, database_url=database_url)
    if password is None:
        password = getpass.getpass("password: ")
    try:
        data = UserCreate(
            username=username, display_name=display_name or username, role=role, password=password
        )
    except ValidationError as exc:
        raise _fail(_problems(exc), 2) from exc
    _migrate(settings)
    user = _in_tenant(settings, tenant, lambda uow: service.create_user(uow, None, data))
    console.print(f"user {user.username} ({user.role.value}) created in {tenant}")


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def _in_tenant(settings: Settings, slug: str, use_case: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `use_case` in tenant `slug` as the system (no user acts) and commit; an unknown
    tenant or a refused use case ends the command with its message and exit code 1."""
    from omnidesk.platform.bus import InProcessBus
    from omnidesk.platform.database import SCOPE_KEY, SYSTEM, Database
    from omnidesk.platform.tenancy import tenant_by_slug

    async def go(db: Database) -> T:
        session = db.session(SYSTEM)
        try:
            found = await tenant_by_slug(session, slug)
            if found is None:
                raise _fail(f"no tenant {slug!r}", 1)
            session.info[SCOPE_KEY] = found.id
            async with UnitOfWork(session, InProcessBus(), tenant_id=found.id) as uow:
                return await use_case(uow)
        finally:
            await session.close()

    try:
        return asyncio.run(_with_db(settings, go))  # type: ignore[no-any-return]
    except DomainError as exc:
        raise _fail(exc.detail) from exc


def reset_password_cmd(
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    username: Annotated[str, typer.Option(help="Login name")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the new password from stdin instead of asking for it"
        ),
    ] = False,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Set a user's password (asked for twice, hidden) and end the user's sessions."""
    from omnidesk.directory import repository, service
    from omnidesk.directory.schemas import UserUpdate

    settings = _settings(config, database_url=database_url)
    _migrate(settings)

    async def exists(uow: UnitOfWork) -> None:
        if await repository.user_by_username(uow.session, username) is None:
            raise _fail(f"no user {username!r} in tenant {tenant!r}", 1)

    # Checked before asking, so nobody types a new password twice for a misspelt name.
    _in_tenant(settings, tenant, exists)
    if password_stdin:
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    else:
        password = typer.prompt(
            "new password", hide_input=True, confirmation_prompt="new password again"
        )
    try:
        UserUpdate(password=password)  # the API's rules for a password
    except ValidationError as exc:
        raise _fail(_problems(exc), 2) from exc
    _in_tenant(settings, tenant, lambda uow: service.reset_password(uow, username, password))
    console.print(f"password of {username} in {tenant} reset; their sessions have ended")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("migrate")(migrate_cmd)
    app.command("create-tenant")(create_tenant_cmd)
    app.command("create-user")(create_user_cmd)
    app.command("reset-password")(reset_password_cmd)
