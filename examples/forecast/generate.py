"""Write a synthetic contact-center history for `omnidesk forecast` (examples/forecast/).

Shape (every number below is made up, chosen to look like a small German support line):
  queue "support", two channels, 2025-03-17 (a Monday) to 2025-04-27: six whole weeks.
  voice: 30-minute intervals, 07:00-20:00 open, about 600 calls on a Monday.
  chat:  60-minute intervals, 08:00-22:00 open, about a third of the voice volume.
  Volume per interval = Poisson(level x 1.004^day x weekday factor x intraday shape), with
  weekday factors Mon 1.25, Tue 1.1, Wed 1.0, Thu 1.0, Fri 0.9, Sat 0.4, Sun 0.15, and a
  two-peak intraday shape (late morning, early afternoon). German public holidays (Good Friday,
  Easter Monday) run at 35 % of a normal day. AHT per interval = mean of the calls' handle times,
  gamma-distributed around 300 s (voice) / 540 s (chat), a little longer in the evening.
Closed intervals are left out of the file, as many exports do (the forecaster reads them as 0).

Run: .venv/bin/python examples/forecast/generate.py [--out FILE] [--seed N]
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import numpy as np

FIRST = date(2025, 3, 17)
DAYS = 42
WEEKDAY = (1.25, 1.1, 1.0, 1.0, 0.9, 0.4, 0.15)
HOLIDAY_FACTOR = 0.35
CHANNELS = {
    # channel: (interval minutes, open hour, close hour, calls on an average weekday, mean AHT)
    "voice": (30, 7, 20, 480.0, 300.0),
    "chat": (60, 8, 22, 160.0, 540.0),
}


def shape(hours: np.ndarray) -> np.ndarray:
    """Two peaks, 10:30 and 14:30, on a floor; normalised to sum 1 over the given hours."""
    raw = (
        np.exp(-0.5 * ((hours - 10.5) / 1.6) ** 2)
        + 0.8 * np.exp(-0.5 * ((hours - 14.5) / 2.0) ** 2)
        + 0.15
    )
    return raw / raw.sum()


def rows(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    closed = holidays.country_holidays("DE", years=[FIRST.year])
    out = ["interval_start,queue_id,channel,volume,aht"]
    for channel, (minutes, opens, closes, daily, aht) in CHANNELS.items():
        per_hour = 60 // minutes
        starts = np.arange(opens * per_hour, closes * per_hour) / per_hour  # hours of day
        profile = shape(starts + 0.5 / per_hour)
        for d in range(DAYS):
            day = FIRST + timedelta(days=d)
            level = daily * 1.004**d * WEEKDAY[day.weekday()]
            if day in closed:
                level *= HOLIDAY_FACTOR
            volume = rng.poisson(level * profile)
            for hour, count in zip(starts, volume, strict=True):
                at = datetime.combine(day, datetime.min.time()) + timedelta(hours=float(hour))
                if count:
                    evening = 1.0 + 0.1 * (hour >= 18)
                    handle = rng.gamma(4.0, aht * evening / 4.0, size=int(count)).mean()
                    out.append(f"{at:%Y-%m-%dT%H:%M},support,{channel},{count},{handle:.0f}")
                else:
                    out.append(f"{at:%Y-%m-%dT%H:%M},support,{channel},0,")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    here = Path(__file__).resolve().parent
    parser.add_argument("--out", type=Path, default=here / "contacts.csv")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    lines = rows(args.seed)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines) - 1} rows to {args.out}")


if __name__ == "__main__":
    main()
