"""`omnidesk serve|migrate|create-tenant|create-user|reset-password|demo` through CliRunner.

Commands that touch a database run on every backend (the `database_url` fixture), and what they
create is then used through the HTTP API, as an operator would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from omnidesk.app import create_app
from omnidesk.cli import demo, platform_cmds
from omnidesk.directory.models import User
from omnidesk.platform import migrate
from omnidesk.platform.audit import AuditEntry
from omnidesk.platform.auth.passwords import verify_password
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, Database
from omnidesk.platform.settings import load_settings
from omnidesk.platform.tenancy import tenant_by_slug

# Cheap password hashing for the commands (they read OMNIDESK_* like in production).
ENV = {
    "OMNIDESK_ARGON2_TIME_COST": "1",
    "OMNIDESK_ARGON2_MEMORY_KIB": "8",
    "OMNIDESK_ARGON2_PARALLELISM": "1",
}
runner = CliRunner()


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    platform_cmds.register(root)
    demo.register(root)  # `omnidesk demo` lives in cli/demo.py
    # What commands write besides the database (the demo's audio and manifest) goes here.
    ENV["OMNIDESK_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    return root


def run(
    cli: typer.Typer, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> Any:
    result = runner.invoke(cli, list(args), env={**ENV, **(env or {})}, input=input)
    # Exit codes are ours, never an unhandled exception's traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def flat(text: str) -> str:
    """rich wraps long lines at the terminal width; compare with whitespace collapsed."""
    return " ".join(text.split())


def _usernames(url: str, slug: str) -> list[str] | None:
    async def go() -> list[str] | None:
        db = Database(url)
        session = db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, slug)
            if tenant is None:
                return None
            session.info[SCOPE_KEY] = tenant.id
            return sorted((await session.scalars(select(User.username))).all())
        finally:
            await session.close()
            await db.dispose()

    return asyncio.run(go())


def _login(url: str, tenant: str, username: str, password: str) -> Any:
    app = create_app(load_settings(None, database_url=url, auto_migrate=False))
    with TestClient(app) as client:
        return client.post(
            "/api/v1/auth/login",
            json={"tenant": tenant, "username": username, "password": password},
        )


def test_help(cli) -> None:
    result = run(cli, "--help")
    assert result.exit_code == 0
    for command in ("serve", "migrate", "create-tenant", "create-user", "reset-password", "demo"):
        assert command in result.stdout
        assert run(cli, command, "--help").exit_code == 0
    serve = flat(run(cli, "serve", "--help").stdout)
    for option in ("--host", "--port", "--database-url", "--config", "--demo"):
        assert option in serve


def test_migrate_creates_and_upgrades_a_sqlite_database(cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new/omnidesk.db"
    for _ in range(2):  # idempotent
        result = run(cli, "migrate", "--database-url", url)
        assert result.exit_code == 0, result.output
        assert f"revision {migrate.head_revision()}" in result.stdout
    assert migrate.current_revision(url) == migrate.head_revision()


def test_migrate_bad_database_exits_nonzero_without_leaking_the_password(cli) -> None:
    result = run(cli, "migrate", "--database-url", "mysql://root@localhost/omnidesk")
    assert result.exit_code == 1
    assert "unsupported database" in flat(result.stderr)
    result = run(
        cli, "migrate", "--database-url", "postgresql://omnidesk:s3cret-pw@127.0.0.1:1/omnidesk"
    )
    assert result.exit_code == 1
    assert "cannot migrate" in flat(result.stderr)
    assert "s3cret-pw" not in result.output


def test_bad_settings_exit_2(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("port: [8000\n")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("prot: 8000\n")
    for config, message in [
        (bad, "not valid YAML"),
        (unknown, "prot"),
        (tmp_path / "missing.yaml", "cannot read"),
    ]:
        result = run(cli, "migrate", "--config", str(config))
        assert result.exit_code == 2, result.output
        assert message in flat(result.stderr)
    result = run(cli, "migrate", env={"OMNIDESK_PORT": "not-a-port"})
    assert result.exit_code == 2 and "port" in flat(result.stderr)


def test_create_tenant_and_users_who_can_log_in(cli, database_url: str) -> None:
    db = ["--database-url", database_url]
    result = run(cli, "create-tenant", "--slug", "acme", "--name", "Acme Inc.", *db)
    assert result.exit_code == 0, result.output
    assert "tenant acme created" in result.stdout
    result = run(
        cli,
        "create-user",
        "--tenant",
        "acme",
        "--username",
        "boss",
        "--role",
        "admin",
        "--display-name",
        "The Boss",
        "--password",
        "boss-password-1",
        *db,
    )
    assert result.exit_code == 0, result.output
    assert "user boss (admin) created in acme" in result.stdout
    # The password can come from the environment (not the process list); the role defaults to agent.
    result = run(
        cli,
        "create-user",
        "--tenant",
        "acme",
        "--username",
        "ann",
        *db,
        env={"OMNIDESK_PASSWORD": "ann-password-1"},
    )
    assert result.exit_code == 0, result.output
    assert "user ann (agent) created" in result.stdout
    assert _usernames(database_url, "acme") == ["ann", "boss"]

    response = _login(database_url, "acme", "boss", "boss-password-1")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "admin"
    assert response.json()["user"]["display_name"] == "The Boss"
    assert _login(database_url, "acme", "ann", "ann-password-1").json()["user"]["role"] == "agent"


def test_create_tenant_bad_input(cli, database_url: str) -> None:
    db = ["--database-url", database_url]
    assert run(cli, "create-tenant", "--slug", "acme", "--name", "Acme", *db).exit_code == 0
    cases = [
        (["--slug", "acme", "--name", "Again"], "already exists"),
        (["--slug", "Not A Slug", "--name", "X"], "slug"),
        (["--slug", "[/x]", "--name", "X"], "[/x]"),  # quoted as-is, not parsed as markup
        (["--slug", "blank", "--name", "   "], "name"),
    ]
    for args, message in cases:
        result = run(cli, "create-tenant", *args, *db)
        assert result.exit_code != 0, result.output
        assert message in flat(result.stderr), result.stderr
    assert _usernames(database_url, "blank") is None
    missing = run(cli, "create-tenant", "--name", "No slug", *db)
    assert missing.exit_code == 2 and "--slug" in flat(missing.output)


def test_create_user_bad_input(cli, database_url: str) -> None:
    db = ["--database-url", database_url]
    assert run(cli, "create-tenant", "--slug", "acme", "--name", "Acme", *db).exit_code == 0
    ok = ["--tenant", "acme", "--username", "ann", "--password", "ann-password-1"]
    assert run(cli, "create-user", *ok, *db).exit_code == 0
    cases = [
        (
            ["--tenant", "nowhere", "--username", "bob", "--password", "bob-password-1"],
            1,
            "no tenant 'nowhere'",
        ),
        (["--tenant", "acme", "--username", "ann", "--password", "other-password"], 1, "taken"),
        (
            [
                "--tenant",
                "acme",
                "--username",
                "bob",
                "--role",
                "boss",
                "--password",
                "bob-password-1",
            ],
            2,
            "role",
        ),
        (["--tenant", "acme", "--username", "bob", "--password", "short"], 2, "password"),
        (
            ["--tenant", "acme", "--username", "Bob Smith", "--password", "bob-password-1"],
            2,
            "username",
        ),
    ]
    for args, code, message in cases:
        result = run(cli, "create-user", *args, *db)
        assert result.exit_code == code, result.output
        assert message in flat(result.stderr), result.stderr
    assert _usernames(database_url, "acme") == ["ann"]


def test_demo_prints_logins_that_work_and_refuses_a_second_load(cli, database_url: str) -> None:
    result = run(cli, "demo", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 4 and cells[0] == "demo":
            rows[cells[1]] = (cells[2], cells[3])
    assert {u: role for u, (role, _) in rows.items()} == {
        "admin": "admin",
        "supervisor": "supervisor",
        "agent1": "agent",
        "agent2": "agent",
    }
    response = _login(database_url, "demo", "admin", rows["admin"][1])
    assert response.status_code == 200, response.text
    again = run(cli, "demo", "--database-url", database_url)
    assert again.exit_code == 1
    assert "already exists" in flat(again.stderr)
    assert rows["admin"][1] not in again.output


# --- reset-password ---------------------------------------------------------------------

OLD, NEW = "old-password-1", "new-password-2"


@pytest.fixture
def acme(cli: typer.Typer, database_url: str) -> list[str]:
    """Tenant acme with the agent ann (password OLD); the --database-url option to pass."""
    db = ["--database-url", database_url]
    assert run(cli, "create-tenant", "--slug", "acme", "--name", "Acme", *db).exit_code == 0
    created = run(
        cli, "create-user", "--tenant", "acme", "--username", "ann", "--password", OLD, *db
    )
    assert created.exit_code == 0, created.output
    return db


def _ann(url: str) -> tuple[User, list[AuditEntry]]:
    """ann's row and the tenant's password-reset audit entries."""

    async def go() -> tuple[User, list[AuditEntry]]:
        db = Database(url)
        session = db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, "acme")
            assert tenant is not None
            session.info[SCOPE_KEY] = tenant.id
            user = await session.scalar(select(User).where(User.username == "ann"))
            assert user is not None
            entries = await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "user.password_reset")
            )
            return user, list(entries)
        finally:
            await session.close()
            await db.dispose()

    return asyncio.run(go())


def _ann_logs_in(client: TestClient, password: str) -> int:
    body = {"tenant": "acme", "username": "ann", "password": password}
    return client.post("/api/v1/auth/login", json=body).status_code


def test_reset_asks_twice_ends_sessions_and_is_audited(
    cli: typer.Typer, acme: list[str], database_url: str
) -> None:
    settings = load_settings(
        None,
        database_url=database_url,
        auto_migrate=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )
    with TestClient(create_app(settings)) as client:
        assert _ann_logs_in(client, OLD) == 200
        assert client.get("/api/v1/auth/me").status_code == 200  # a live session (cookie)

        result = run(
            cli,
            "reset-password",
            "--tenant",
            "acme",
            "--username",
            "ann",
            *acme,
            input=f"{NEW}\n{NEW}\n",
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.count("new password") == 2  # asked twice
        assert NEW not in result.output  # hidden input
        assert "password of ann in acme reset" in flat(result.stdout)

        assert client.get("/api/v1/auth/me").status_code == 401  # the session has ended
        assert _ann_logs_in(client, OLD) == 401
        assert _ann_logs_in(client, NEW) == 200
    user, [entry] = _ann(database_url)
    assert (entry.target_type, entry.target_id) == ("user", str(user.id))
    assert entry.actor_user_id is None and entry.details == {"username": "ann"}


def test_password_from_stdin(cli: typer.Typer, acme: list[str], database_url: str) -> None:
    args = ["reset-password", "--tenant", "acme", "--username", "ann", "--password-stdin"]
    result = run(cli, *args, *acme, input=f"{NEW}\n")
    assert result.exit_code == 0, result.output
    assert "new password" not in result.output  # nothing asked
    user, entries = _ann(database_url)
    assert verify_password(user.password_hash, NEW) and len(entries) == 1


@pytest.mark.parametrize(
    ("who", "stdin", "code", "message"),
    [
        (["--tenant", "nowhere", "--username", "ann"], f"{NEW}\n{NEW}\n", 1, "no tenant 'nowhere'"),
        (["--tenant", "acme", "--username", "bob"], f"{NEW}\n{NEW}\n", 1, "no user 'bob'"),
        (["--tenant", "acme", "--username", "ann"], "short\nshort\n", 2, "password"),
        (["--tenant", "acme", "--username", "ann", "--password-stdin"], "", 2, "password"),
        # The second entry differs: click asks again, then stdin ends: aborted.
        (["--tenant", "acme", "--username", "ann"], f"{NEW}\n{OLD}\n", 1, "do not match"),
    ],
)
def test_refusals_change_nothing(
    cli: typer.Typer,
    acme: list[str],
    database_url: str,
    who: list[str],
    stdin: str,
    code: int,
    message: str,
) -> None:
    result = run(cli, "reset-password", *who, *acme, input=stdin)
    assert result.exit_code == code, result.output
    assert message in flat(result.output)
    if code == 1 and "no " in message:
        assert "new password" not in result.output  # refused before asking
    user, entries = _ann(database_url)
    assert verify_password(user.password_hash, OLD) and entries == []
