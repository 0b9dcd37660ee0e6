"""`omnidesk forecast CSV`: forecast contact volume and AHT from an interval CSV.

Thin layer over omnidesk.wfm.forecasting: read the CSV, pick the queue/channel, forecast, print a
daily summary and the backtest (or, with --json, every interval). Bad input -> "Error: <field>:
<reason>" naming the line or option on stderr, exit code 2.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from omnidesk.wfm.forecasting import csvio
from omnidesk.wfm.forecasting.holidaycal import HolidaySpec
from omnidesk.wfm.forecasting.model import METHOD_CHOICES, Backtest, Forecast, Score, forecast
from omnidesk.wfm.forecasting.series import ForecastInputError

# Fields of the pure code that are options here; CSV columns are named as they are.
_OPTIONS = {
    "method": "--method",
    "horizon_days": "--horizon-days",
    "backtest_days": "--backtest-days",
    "interval_minutes": "--interval-minutes",
    "holidays.country": "--country",
    "holidays.subdivision": "--subdivision",
    "holidays.factor": "--holiday-factor",
    "queue_id": "--queue",
    "channel": "--channel",
}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _fail(field: str, message: str) -> typer.Exit:
    typer.echo(f"Error: {_OPTIONS.get(field, field)}: {message}", err=True)
    return typer.Exit(code=2)


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _score(s: Score) -> dict[str, Any]:
    return {
        "wape": _num(s.wape),
        "mape": _num(s.mape),
        "accuracy": _num(s.accuracy),
        "intervals": s.intervals,
    }


def _backtest(bt: Backtest) -> dict[str, Any]:
    variance = bt.day_error_variance
    return {
        "days": bt.days,
        "overall": _score(bt.overall),
        "horizons": [{"day_ahead": k + 1, **_score(s)} for k, s in enumerate(bt.horizons)],
        "day_error": None if variance is None else math.sqrt(variance),
    }


def as_json(queue_id: str, channel: str, result: Forecast) -> dict[str, Any]:
    starts = result.starts()
    return {
        "queue_id": queue_id,
        "channel": channel,
        "method": result.method,
        "requested_method": result.requested_method,
        "interval_minutes": result.interval_minutes,
        "start": starts[0].isoformat(),
        "holidays": {
            "factor": result.holidays.factor,
            "factor_source": result.holidays.source,
            "history_days": result.holidays.history_days,
            "forecast_days": [d.isoformat() for d in result.holiday_dates],
        },
        "backtest": {m: _backtest(bt) for m, bt in result.backtests.items()},
        "warnings": list(result.warnings),
        "intervals": [
            {
                "interval_start": t.isoformat(),
                "volume": float(result.volume[i]),
                "aht": float(result.aht[i]),
                "holiday": bool(result.holiday[i]),
            }
            for i, t in enumerate(starts)
        ],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print(queue_id: str, channel: str, result: Forecast, notes: list[str]) -> None:
    console = Console()
    per_day = result.per_day
    days = result.volume.size // per_day
    starts = result.starts()
    title = (
        f"Forecast {queue_id}/{channel}: {result.method}"
        + (" (auto)" if result.requested_method == "auto" else "")
        + f", {result.interval_minutes}-minute intervals"
    )
    daily = Table(title=title)
    for name, justify in (
        ("Date", "left"),
        ("Day", "left"),
        ("Volume", "right"),
        ("AHT (s)", "right"),
        ("Peak interval", "right"),
        ("Holiday", "left"),
    ):
        daily.add_column(name, justify=justify)  # type: ignore[arg-type]
    for d in range(days):
        part = slice(d * per_day, (d + 1) * per_day)
        volume = result.volume[part]
        total = float(volume.sum())
        aht = float((volume * result.aht[part]).sum() / total) if total > 0 else float("nan")
        peak = int(np.argmax(volume))
        day: date = starts[d * per_day].date()
        daily.add_row(
            day.isoformat(),
            _WEEKDAYS[day.weekday()],
            f"{total:,.1f}",
            "-" if math.isnan(aht) else f"{aht:,.0f}",
            f"{starts[d * per_day + peak]:%H:%M} ({float(volume[peak]):,.1f})",
            "yes" if result.holiday[d * per_day] else "",
        )
    console.print(daily)
    if result.backtests:
        horizon = max(bt.horizon for bt in result.backtests.values())
        # One column per method, so four methods and any horizon fit an 80-column terminal.
        table = Table(title="Backtest (rolling origin; accuracy = 1 - WAPE)")
        table.add_column("Measure")
        for method in result.backtests:
            table.add_column(method + (" *" if method == result.method else ""), justify="right")
        bts = list(result.backtests.values())
        table.add_row("WAPE", *[_pct(bt.overall.wape) for bt in bts])
        table.add_row("MAPE", *[_pct(bt.overall.mape) for bt in bts])
        table.add_row("Accuracy", *[_pct(bt.overall.accuracy) for bt in bts])
        for h in range(horizon):
            table.add_row(
                f"WAPE d+{h + 1}",
                *[_pct(bt.horizons[h].wape) if h < len(bt.horizons) else "-" for bt in bts],
            )
        console.print(table)
        console.print("d+h: WAPE of the forecasts made h days ahead; * the method used.")
    effect = result.holidays
    if result.holiday_dates:
        console.print(
            f"Holidays in the forecast: {', '.join(d.isoformat() for d in result.holiday_dates)}"
            f"; factor {effect.factor:.3f} ({effect.source.replace('_', ' ')}, "
            f"{effect.history_days} in the history)"
        )
    for note in [*notes, *result.warnings]:
        console.print(f"Note: {note}")


def forecast_cmd(
    csv_path: Annotated[
        Path, typer.Argument(metavar="CSV", help="interval_start,queue_id,channel,volume,aht")
    ],
    queue: Annotated[
        str | None, typer.Option("--queue", help="Queue to forecast (if the CSV has several).")
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Channel to forecast (if several).")
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help=f"One of {', '.join(METHOD_CHOICES)}.")
    ] = "auto",
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", help="Days to forecast after the history.")
    ] = 14,
    backtest_days: Annotated[
        int, typer.Option("--backtest-days", help="Rolling-origin backtest over the last K days.")
    ] = 7,
    interval_minutes: Annotated[
        int | None,
        typer.Option("--interval-minutes", help="Interval length (default: the usual gap)."),
    ] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="Holidays of this country, e.g. DE.")
    ] = None,
    subdivision: Annotated[
        str | None, typer.Option("--subdivision", help="State/province for holidays, e.g. BY.")
    ] = None,
    holiday: Annotated[
        list[str] | None,
        typer.Option("--holiday", help="An extra holiday date (YYYY-MM-DD); repeatable."),
    ] = None,
    holiday_factor: Annotated[
        float | None,
        typer.Option("--holiday-factor", help="Scale holidays by this (default: observed)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print every interval as JSON.")] = False,
) -> None:
    """Forecast volume and AHT per interval, with a backtest of the method(s)."""
    try:
        text = csv_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail("CSV", f"cannot read {csv_path}: {exc}") from None
    dates: list[date] = []
    for raw in holiday or []:
        try:
            dates.append(date.fromisoformat(raw))
        except ValueError:
            raise _fail("--holiday", f"{raw!r} is not a date like 2025-12-24") from None
    try:
        rows = csvio.read_rows(text)
        queue_id, channel_id, chosen = csvio.select(rows, queue, channel)
        series, notes = csvio.to_series(chosen, interval_minutes=interval_minutes)
        result = forecast(
            series,
            method=method,
            horizon_days=horizon_days,
            backtest_days=backtest_days,
            holidays=HolidaySpec(
                country=country, subdivision=subdivision, dates=tuple(dates), factor=holiday_factor
            ),
        )
    except ForecastInputError as exc:
        raise _fail(exc.field, exc.message) from None
    if json_out:
        out = as_json(queue_id, channel_id, result)
        out["warnings"] = [*notes, *out["warnings"]]
        typer.echo(json.dumps(out))
        return
    _print(queue_id, channel_id, result, notes)


def register(app: typer.Typer) -> None:
    """Add the `forecast` command to the main app."""
    app.command("forecast")(forecast_cmd)
