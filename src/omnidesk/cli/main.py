"""The `omnidesk` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="omnidesk",
    help="Omnidesk, the self-hosted omnichannel contact center.",
    no_args_is_help=True,
    add_completion=False,
)


def _register() -> None:
    # Imported here, not at module import, so `omnidesk --help` stays fast and nothing
    # runs at import time.
    from omnidesk.cli import bench, erlang, forecast, platform_cmds, schedule, simulate

    platform_cmds.register(app)
    erlang.register(app)
    bench.register(app)
    forecast.register(app)
    simulate.register(app)
    schedule.register(app)


def main() -> None:
    _register()
    app()
