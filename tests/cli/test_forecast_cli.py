"""`omnidesk forecast CSV` through typer's CliRunner: output, the example data, bad input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from omnidesk.cli import forecast as forecast_cli

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "forecast" / "contacts.csv"
MONDAY = datetime(2025, 3, 3)


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    forecast_cli.register(root)
    return root


def volume(day: int, hour: int) -> int:
    return 0 if hour < 8 or hour > 17 else 1 + (day % 7) + hour % 4


def write_csv(tmp_path: Path, days: int, *, extra: str = "") -> Path:
    lines = ["interval_start,queue_id,channel,volume,aht"]
    for day in range(days):
        for hour in range(24):
            t = MONDAY + timedelta(days=day, hours=hour)
            v = volume(day, hour)
            lines.append(f"{t:%Y-%m-%dT%H:%M},q1,voice,{v},{240 if v else ''}")
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["forecast", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_is_the_last_week_repeated_for_seasonal_naive(app, tmp_path) -> None:
    path = write_csv(tmp_path, 9)
    args = ["--method", "seasonal_naive", "--horizon-days", "3", "--backtest-days", "2", "--json"]
    code, out, err = run(app, str(path), *args)
    assert code == 0, err
    data = json.loads(out)
    assert (data["queue_id"], data["channel"], data["method"]) == ("q1", "voice", "seasonal_naive")
    assert data["start"] == "2025-03-12T00:00:00"
    got = [row["volume"] for row in data["intervals"]]
    assert got == [float(volume(d - 7, h)) for d in range(9, 12) for h in range(24)]
    assert data["intervals"][9]["aht"] == 240.0
    bt = data["backtest"]["seasonal_naive"]
    assert [h["day_ahead"] for h in bt["horizons"]] == [1, 2]
    assert bt["overall"]["accuracy"] == pytest.approx(1 - bt["overall"]["wape"])


def test_table_view_prints_a_daily_summary_and_the_backtest(app, tmp_path) -> None:
    path = write_csv(tmp_path, 9)
    code, out, err = run(
        app, str(path), "--method", "seasonal_naive", "--horizon-days", "2", "--holiday",
        "2025-03-13", "--holiday-factor", "0.5",
    )  # fmt: skip
    assert code == 0, err
    assert "2025-03-12" in out and "2025-03-13" in out and "2025-03-14" not in out
    # Thursday 13 March: last Thursday's 10 open hours, halved as a holiday.
    thursday = sum(volume(3, h) for h in range(24)) * 0.5
    assert f"{thursday:,.1f}" in out and "yes" in out
    assert "Backtest" in out and "WAPE d+1" in out and "seasonal_naive *" in out
    assert "factor 0.500 (given" in out


def test_the_example_data_forecasts_with_german_holidays(app) -> None:
    args = ["--channel", "chat", "--method", "theta", "--horizon-days", "7", "--backtest-days"]
    code, out, err = run(app, str(EXAMPLE), *args, "2", "--country", "DE", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["interval_minutes"] == 60 and data["start"] == "2025-04-28T00:00:00"
    # Good Friday and Easter Monday are in the history, Labour Day in the forecast.
    holidays = data["holidays"]
    assert holidays["forecast_days"] == ["2025-05-01"] and holidays["history_days"] == 2
    assert holidays["factor_source"] == "observed" and 0.2 < holidays["factor"] < 0.6
    by_day: dict[str, float] = {}
    for row in data["intervals"]:
        by_day[row["interval_start"][:10]] = by_day.get(row["interval_start"][:10], 0.0)
        by_day[row["interval_start"][:10]] += row["volume"]
    assert by_day["2025-05-01"] < 0.6 * by_day["2025-04-30"]


@pytest.mark.parametrize(
    ("mutate", "args", "fragments"),
    [
        (lambda t: t.replace(",aht", "", 1), [], ["aht", "line 1"]),
        (lambda t: t.replace(",q1,voice,3,240", ",q1,voice,3x,240", 1), [], ["volume", "line"]),
        (lambda t: t.replace("T09:00", "T09:20", 1), [], ["line 11", "not on the 60-minute grid"]),
        (lambda t: t.replace("T09:00,q1,voice,", "T08:00,q1,voice,", 1), [], ["appears twice"]),
        (lambda t: t + "2025-03-03T09:00,q2,voice,1,60\n", [], ["several", "--queue"]),
        (lambda t: t, ["--method", "ets", "--backtest-days", "0"], ["ets needs at least 21"]),
        (lambda t: t, ["--backtest-days", "9"], ["history", "plus 9 backtest days"]),
        (lambda t: t, ["--method", "prophet"], ["--method"]),
        (lambda t: t, ["--country", "XX"], ["--country"]),
        (lambda t: t, ["--holiday", "13.03.2025"], ["--holiday"]),
        (lambda t: t, ["--horizon-days", "0"], ["--horizon-days"]),
    ],
)
def test_bad_input_exits_2_naming_the_row_or_option(app, tmp_path, mutate, args, fragments) -> None:
    path = write_csv(tmp_path, 9)
    path.write_text(mutate(path.read_text()))
    code, out, err = run(app, str(path), "--method", "seasonal_naive", *args)
    assert code == 2, (out, err)
    assert err.startswith("Error: ")
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_unreadable_file_exits_2(app, tmp_path) -> None:
    code, _, err = run(app, str(tmp_path / "missing.csv"))
    assert code == 2 and "cannot read" in err
