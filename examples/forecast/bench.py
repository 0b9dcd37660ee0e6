"""Time each forecasting method's backtest on the example data (the figures in docs/wfm.md).

Run: .venv/bin/python examples/forecast/bench.py [--channel voice|chat] [--backtest-days 7]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from omnidesk.wfm.forecasting import csvio
from omnidesk.wfm.forecasting.holidaycal import HolidaySpec
from omnidesk.wfm.forecasting.model import METHODS, backtest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--csv", type=Path, default=Path(__file__).with_name("contacts.csv"))
    parser.add_argument("--channel", default="voice")
    parser.add_argument("--backtest-days", type=int, default=7)
    args = parser.parse_args()
    rows = csvio.read_rows(args.csv.read_text(encoding="utf-8"))
    _, _, chosen = csvio.select(rows, None, args.channel)
    series, _ = csvio.to_series(chosen)
    print(f"{series.days} days x {series.per_day} intervals, {args.backtest_days} origins")
    started = time.perf_counter()
    import statsforecast.models  # noqa: F401 - timed on its own: seconds, once per process

    print(f"import statsforecast: {time.perf_counter() - started:.2f} s")
    spec = HolidaySpec(country="DE")
    for method in METHODS:
        # Twice: the first call of a method may still compile; the second is the steady cost.
        for label in ("first", "again"):
            started = time.perf_counter()
            bt = backtest(
                series, method, horizon_days=7, backtest_days=args.backtest_days, holidays=spec
            )
            took = time.perf_counter() - started
            print(f"{method:15s} {label}: {took:6.2f} s  WAPE {bt.overall.wape:.3f}")


if __name__ == "__main__":
    main()
