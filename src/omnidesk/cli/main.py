"""The `omnidesk` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

import functools

import typer

app = typer.Typer(
    name="omnidesk",
    help="Omnidesk, the self-hosted omnichannel contact center.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _logs_to_stderr() -> None:
    # Before every command: stdout is the command's output (one JSON document with --json), so
    # whatever it runs logs to stderr: the voice server inside `bench voice`, alembic, etc.
    # (unconfigured, structlog would print to stdout). `serve` then applies its settings'
    # format and level, still on stderr.
    from omnidesk.platform.logging import configure_logging

    configure_logging()


@functools.cache
def command_tree() -> typer.Typer:
    """The app with every command group registered (once; the tests walk it too)."""
    # Imported here, not at module import, so `omnidesk --help` stays fast and nothing
    # runs at import time.
    from omnidesk.cli import (
        bench,
        bench_chat,
        bench_realtime,
        demo,
        erlang,
        forecast,
        kpis,
        platform_cmds,
        schedule,
        simulate,
    )

    platform_cmds.register(app)
    demo.register(app)
    erlang.register(app)
    bench.register(app)
    bench_realtime.register(app)
    bench_chat.register(app)
    forecast.register(app)
    simulate.register(app)
    schedule.register(app)
    kpis.register(app)
    return app


def main() -> None:
    command_tree()()


if __name__ == "__main__":
    main()
