"""`omnidesk kpis rebuild`: compute the KPI rollups again from the event log."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from omnidesk.cli.platform_cmds import ConfigFile, DatabaseUrl, _fail, _migrate, _settings, console

kpis = typer.Typer(help="KPI rollups (docs/kpis.md).", no_args_is_help=True)


@kpis.command("rebuild")
def rebuild_cmd(
    tenant: Annotated[
        str | None, typer.Option(help="Tenant slug (default: every active tenant)")
    ] = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Drop the rollups and recompute them from the whole event log (the result equals what
    incremental ingestion built). Run it with the server stopped, or the server's ingester
    simply continues from where the rebuild got to."""
    from omnidesk.analytics.ingester import active_tenants, rebuild
    from omnidesk.platform.database import SYSTEM, Database
    from omnidesk.platform.tenancy import tenant_by_slug

    settings = _settings(config, database_url=database_url)
    _migrate(settings)

    async def go() -> list[tuple[str, int]]:
        db = Database(settings.database_url)
        try:
            if tenant is None:
                ids = await active_tenants(db)
            else:
                session = db.session(SYSTEM)
                try:
                    found = await tenant_by_slug(session, tenant)
                finally:
                    await session.close()
                if found is None:
                    raise _fail(f"no active tenant {tenant!r}")
                ids = [found.id]
            return [(str(tenant_id), await rebuild(db, tenant_id)) for tenant_id in ids]
        finally:
            await db.dispose()

    for tenant_id, events in asyncio.run(go()):
        console.print(f"tenant {tenant_id}: rollups rebuilt from {events} events")


def register(app: typer.Typer) -> None:
    app.add_typer(kpis, name="kpis")
