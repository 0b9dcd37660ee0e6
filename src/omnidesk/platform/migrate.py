"""Schema migrations with Alembic, driven programmatically (no alembic.ini to keep in sync)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Connection, make_url

from omnidesk.platform.database import resolve_urls

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _ensure_sqlite_dir(sync_url: str) -> None:
    url = make_url(sync_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _run(url: str, fn: object) -> object:
    sync_url = resolve_urls(url).sync_url
    _ensure_sqlite_dir(sync_url)
    engine = create_engine(sync_url)
    try:
        with engine.begin() as connection:
            return fn(connection)  # type: ignore[operator]
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    def go(connection: Connection) -> None:
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    _run(url, go)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def current_revision(url: str) -> str | None:
    return _run(url, current_revision_sync)  # type: ignore[return-value]


def autogenerate(url: str, message: str, metadata: MetaData) -> None:
    """Developer helper: write a new revision from the difference between `metadata` (every
    table: `omnidesk.models.Base.metadata`) and the database at `url`."""

    def go(connection: Connection) -> None:
        config = _config()
        config.attributes["connection"] = connection
        config.attributes["target_metadata"] = metadata
        command.revision(config, message=message, autogenerate=True)

    _run(url, go)
