"""The pure forecasting model: methods, accuracy formulas, holidays, AHT, reforecast, grid rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from omnidesk.wfm.forecasting import csvio
from omnidesk.wfm.forecasting.holidaycal import HolidaySpec
from omnidesk.wfm.forecasting.model import (
    METHODS,
    Score,
    backtest,
    forecast,
    forecast_aht,
    mape,
    reforecast,
    wape,
)
from omnidesk.wfm.forecasting.series import ForecastInputError, Series, regular_series

MONDAY = datetime(2025, 3, 3)  # a Monday


def weekly(days: int, per_day: int = 24, start: datetime = MONDAY) -> Series:
    """Every day different, every week the same: volume = 1 + weekday * 100 + slot."""
    slot = np.tile(np.arange(per_day), days)
    weekday = np.repeat([(start + timedelta(days=d)).weekday() for d in range(days)], per_day)
    volume = (1 + weekday * 100 + slot).astype(np.float64)
    return Series(start, 1440 // per_day, volume, np.full(volume.size, 200.0))


# --- seasonal naive -------------------------------------------------------------------------


def test_seasonal_naive_repeats_the_last_week_exactly() -> None:
    rng = np.random.default_rng(7)
    volume = rng.integers(0, 50, size=15 * 24).astype(np.float64)
    series = Series(MONDAY, 60, volume, np.full(volume.size, 300.0))
    result = forecast(series, method="seasonal_naive", horizon_days=10, backtest_days=0)
    last_week = volume[-7 * 24 :]
    assert np.array_equal(result.volume, last_week[np.arange(10 * 24) % (7 * 24)])
    assert result.start == MONDAY + timedelta(days=15)
    assert result.method == "seasonal_naive" and result.backtests == {}


def test_seasonal_naive_falls_back_to_the_last_day_with_under_a_week() -> None:
    volume = np.arange(3 * 48, dtype=np.float64)
    series = Series(MONDAY, 30, volume, np.full(volume.size, 100.0))
    result = forecast(series, method="seasonal_naive", horizon_days=2, backtest_days=0)
    assert np.array_equal(result.volume, np.tile(volume[-48:], 2))


def test_seasonal_naive_backtest_of_a_weekly_series_is_exact() -> None:
    bt = backtest(weekly(21), "seasonal_naive", horizon_days=3, backtest_days=5)
    assert bt.overall.wape == 0.0 and bt.overall.mape == 0.0 and bt.overall.accuracy == 1.0
    assert [s.intervals for s in bt.horizons] == [5 * 24, 4 * 24, 3 * 24]


# --- accuracy formulas ----------------------------------------------------------------------


def test_wape_and_mape_on_hand_computed_values() -> None:
    actual = np.array([10.0, 0.0, 5.0, 20.0])
    predicted = np.array([8.0, 3.0, 5.0, 25.0])
    # |A - F| = 2, 3, 0, 5 -> 10 over sum A = 35; MAPE skips the zero actual: (0.2 + 0 + 0.25)/3.
    assert wape(actual, predicted) == pytest.approx(10 / 35)
    assert mape(actual, predicted) == pytest.approx(0.15)
    score = Score.of(actual, predicted)
    assert score.accuracy == pytest.approx(1 - 10 / 35) and score.intervals == 4
    assert wape(np.zeros(3), np.ones(3)) is None and mape(np.zeros(3), np.ones(3)) is None


def test_backtest_scores_each_horizon_by_rolling_origin() -> None:
    # Daily intervals, 10 days; origins 8 and 9, weekly seasonal naive (>= 7 days of training).
    y = np.array([10, 20, 30, 40, 50, 60, 70, 24, 18, 33], dtype=np.float64)
    series = Series(MONDAY, 1440, y, np.full(10, 60.0))
    bt = backtest(series, "seasonal_naive", horizon_days=2, backtest_days=2)
    # Day-ahead 1: origin 8 predicts day 8 = day 1 (20) for 18; origin 9 predicts day 9 = day 2
    # (30) for 33. Day-ahead 2: origin 8 predicts day 9 = day 2 (30) for 33.
    one, two = bt.horizons
    assert one.wape == pytest.approx((2 + 3) / (18 + 33))
    assert one.mape == pytest.approx((2 / 18 + 3 / 33) / 2)
    assert two.wape == pytest.approx(3 / 33)
    assert bt.overall.wape == pytest.approx((2 + 3 + 3) / (18 + 33 + 33))
    # The reforecast prior: mean squared relative error of the one-day-ahead totals.
    assert bt.day_error_variance == pytest.approx(
        ((18 - 20) / 20) ** 2 / 2 + ((33 - 30) / 30) ** 2 / 2
    )


# --- holidays -------------------------------------------------------------------------------


def test_history_holidays_are_cleaned_and_their_observed_ratio_scales_forecast_holidays() -> None:
    series = weekly(28)
    matrix = series.matrix().copy()
    holiday = MONDAY.date() + timedelta(days=16)  # a Wednesday in week 3
    matrix[16] *= 0.4
    damped = Series(MONDAY, 60, matrix.ravel(), series.aht)
    ahead = MONDAY.date() + timedelta(days=30)  # a Wednesday in the forecast
    spec = HolidaySpec(dates=(holiday, ahead))
    result = forecast(
        damped, method="seasonal_naive", horizon_days=7, backtest_days=0, holidays=spec
    )
    assert result.holidays.source == "observed" and result.holidays.history_days == 1
    assert result.holidays.factor == pytest.approx(0.4)
    expected = weekly(35).volume[28 * 24 :].copy()
    day = 2  # forecast day index of `ahead`
    expected[day * 24 : (day + 1) * 24] *= 0.4
    assert np.allclose(result.volume, expected)
    assert result.holiday_dates == (ahead,)
    assert result.holiday.sum() == 24 and result.holiday[day * 24]
    # A given factor replaces the observed one.
    given = HolidaySpec(dates=(holiday, ahead), factor=0.7)
    result = forecast(
        damped, method="seasonal_naive", horizon_days=7, backtest_days=0, holidays=given
    )
    assert result.holidays.source == "given"
    assert np.allclose(result.volume[day * 24 : (day + 1) * 24], 0.7 * weekly(35).matrix()[30])


def test_without_history_holidays_forecast_holidays_are_flagged_not_scaled() -> None:
    series = weekly(14)
    ahead = MONDAY.date() + timedelta(days=15)
    spec = HolidaySpec(dates=(ahead,))
    result = forecast(
        series, method="seasonal_naive", horizon_days=3, backtest_days=0, holidays=spec
    )
    assert result.holidays.factor == 1.0 and result.holidays.source == "none_observed"
    assert result.holiday_dates == (ahead,)
    assert np.array_equal(result.volume, weekly(17).volume[14 * 24 :])
    assert any("flagged but not scaled" in w for w in result.warnings)


def test_country_holidays_come_from_the_holidays_package() -> None:
    start = datetime(2025, 4, 7)  # a Monday; Good Friday 18 April, Easter Monday 21 April
    series = weekly(21, start=start)
    spec = HolidaySpec(country="DE", subdivision="BY")
    result = forecast(
        series, method="seasonal_naive", horizon_days=14, backtest_days=0, holidays=spec
    )
    # In the forecast (28 April - 11 May): Labour Day, 1 May.
    assert result.holiday_dates == (date(2025, 5, 1),)
    # The history's two holidays had ordinary volume: the observed factor is 1.
    assert result.holidays.history_days == 2 and result.holidays.factor == pytest.approx(1.0)
    with pytest.raises(ForecastInputError) as bad:
        forecast(
            series, method="seasonal_naive", backtest_days=0, holidays=HolidaySpec(country="XX")
        )
    assert bad.value.field == "holidays.country"
    with pytest.raises(ForecastInputError) as bad:
        forecast(
            series,
            method="seasonal_naive",
            backtest_days=0,
            holidays=HolidaySpec(country="DE", subdivision="ZZ"),
        )
    assert bad.value.field == "holidays.subdivision"


# --- AHT ------------------------------------------------------------------------------------


def test_aht_is_the_volume_weighted_mean_per_interval_of_the_week() -> None:
    per_day = 24
    volume = np.zeros(14 * per_day)
    aht = np.full(14 * per_day, np.nan)
    # Monday 09:00 in both weeks: 1 contact at 100 s, then 3 at 200 s -> (100 + 600) / 4.
    for day, count, seconds in ((0, 1, 100.0), (7, 3, 200.0)):
        volume[day * per_day + 9] = count
        aht[day * per_day + 9] = seconds
    # Tuesday 09:00 never had contacts: it takes 09:00 over all weekdays (the same 175 s);
    # Tuesday 10:00 has one.
    volume[1 * per_day + 10] = 2
    aht[1 * per_day + 10] = 400.0
    series = Series(MONDAY, 60, volume, aht)
    ahead = forecast_aht(series, 2)  # Monday and Tuesday after the history
    assert ahead[9] == pytest.approx(175.0)
    assert ahead[per_day + 9] == pytest.approx(175.0)
    assert ahead[per_day + 10] == pytest.approx(400.0)
    # An hour nobody ever called in takes the overall mean: (100 + 600 + 800) / 6.
    assert ahead[3] == pytest.approx(1500 / 6)
    with pytest.raises(ForecastInputError, match="aht"):
        forecast_aht(Series(MONDAY, 60, volume, np.full(volume.size, np.nan)), 1)


# --- reforecast -----------------------------------------------------------------------------


def test_reforecast_scales_the_rest_of_the_day_by_the_credibility_weighted_ratio() -> None:
    day = np.full(8, 10.0)
    result = reforecast(day, np.array([15.0, 15.0]), day_error=0.1)
    # F = 20, A = 30, ratio 1.5; w = 20 * 0.01 / (20 * 0.01 + 1) = 1/6.
    assert result.ratio == pytest.approx(1.5) and result.weight == pytest.approx(1 / 6)
    assert result.factor == pytest.approx(1 + 0.5 / 6)
    assert np.allclose(result.volume, 10.0 * (1 + 0.5 / 6)) and result.volume.size == 6
    # Much volume so far: the weight approaches 1 and the plan follows the observed ratio.
    big = reforecast(np.full(8, 1000.0), np.full(4, 800.0), day_error=0.1)
    assert big.weight == pytest.approx(40 / 41) and big.factor == pytest.approx(1 - 0.2 * 40 / 41)
    # Nothing forecast so far: no ratio, no change; a perfect forecast prior: no change.
    quiet = reforecast(np.array([0.0, 0.0, 5.0]), np.array([3.0, 1.0]), day_error=0.1)
    assert quiet.ratio is None and quiet.factor == 1.0 and np.array_equal(quiet.volume, [5.0])
    assert reforecast(day, np.array([30.0]), day_error=0.0).factor == 1.0
    with pytest.raises(ForecastInputError, match="actuals"):
        reforecast(day, np.ones(9), day_error=0.1)
    with pytest.raises(ForecastInputError, match="actuals"):
        reforecast(day, np.array([-1.0]), day_error=0.1)


# --- grid rules -----------------------------------------------------------------------------


def test_regular_series_fills_gaps_and_names_bad_rows() -> None:
    t = [MONDAY + timedelta(hours=h) for h in (8, 9, 11)] + [MONDAY + timedelta(days=1, hours=8)]
    series, notes = regular_series(t, [1, 2, 3, 4], [60, 60, 60, 60])
    assert series.interval_minutes == 60 and series.days == 2
    assert series.volume[[8, 9, 10, 11, 32]].tolist() == [1, 2, 0, 3, 4]
    assert np.isnan(series.aht[10])
    # The last day ends at 09:00 while the first went on to 12:00: looks cut off.
    assert any("last day" in n for n in notes)
    with pytest.raises(ForecastInputError, match=r"row 3.*appears twice"):
        regular_series([t[0], t[1], t[0]], [1, 1, 1], [1, 1, 1])
    with pytest.raises(ForecastInputError, match=r"row 2.*not on the 60-minute grid"):
        regular_series([t[0], t[0] + timedelta(minutes=90)], [1, 1], [1, 1], interval_minutes=60)
    with pytest.raises(ForecastInputError, match=r"row 2.*offset"):
        regular_series([t[0], t[1].replace(tzinfo=UTC)], [1, 1], [1, 1])
    with pytest.raises(ForecastInputError) as bad:
        regular_series([t[0], t[0] + timedelta(minutes=7)], [1, 1], [1, 1])
    assert bad.value.field == "interval_minutes"


def test_csv_rows_name_the_line_and_column() -> None:
    header = "interval_start,queue_id,channel,volume,aht\n"
    with pytest.raises(ForecastInputError, match=r"line 1.*aht") as bad:
        csvio.read_rows("interval_start,queue_id,channel,volume\n2025-03-03T08:00,q,chat,1\n")
    assert bad.value.field == "aht"
    with pytest.raises(ForecastInputError, match="line 3: 'many'") as bad:
        csvio.read_rows(header + "2025-03-03T08:00,q,chat,1,60\n2025-03-03T09:00,q,chat,many,60\n")
    assert bad.value.field == "volume"
    with pytest.raises(ForecastInputError, match=r"line 2.*ISO 8601"):
        csvio.read_rows(header + "yesterday,q,chat,1,60\n")
    rows = csvio.read_rows(header + "2025-03-03T08:00,q,chat,1,\n2025-03-03T08:00,r,chat,2,50\n")
    with pytest.raises(ForecastInputError, match="several queue/channel pairs"):
        csvio.select(rows, None, None)
    queue, channel, chosen = csvio.select(rows, "r", None)
    assert (queue, channel, [r.volume for r in chosen]) == ("r", "chat", [2.0])


def test_too_little_history_names_the_method_and_days() -> None:
    series = weekly(10)
    with pytest.raises(ForecastInputError, match="ets needs at least 21 days") as bad:
        forecast(series, method="ets", backtest_days=0)
    assert bad.value.field == "history"
    with pytest.raises(ForecastInputError, match="plus 7 backtest days"):
        forecast(weekly(7), method="seasonal_naive", backtest_days=7)
    with pytest.raises(ForecastInputError, match="method"):
        forecast(series, method="prophet")


# --- statsforecast methods (one fit shared by the module) -----------------------------------


@pytest.fixture(scope="module")
def seasonal_trend():  # type: ignore[no-untyped-def]
    """Six weeks of hourly contacts with a 2.5 %/day trend, a weekly and a daily pattern."""
    rng = np.random.default_rng(11)
    days, per_day = 42, 24
    hour = np.tile(np.arange(per_day), days)
    day = np.repeat(np.arange(days), per_day)
    week = np.array([1.0, 1.15, 1.1, 1.0, 0.9, 0.45, 0.25])[day % 7]
    shape = np.exp(-0.5 * ((hour - 12.5) / 3.0) ** 2) + 0.02
    rate = 150.0 * (1.025**day) * week * shape
    volume = rng.poisson(rate).astype(np.float64)
    aht = np.where(volume > 0, 280.0 + 40.0 * np.cos(hour / 24 * 2 * np.pi), np.nan)
    series = Series(MONDAY, 60, volume, aht)
    return series, forecast(series, method="auto", horizon_days=7, backtest_days=7)


def test_statsforecast_methods_beat_seasonal_naive_on_trend_and_season(seasonal_trend) -> None:
    _, result = seasonal_trend
    assert set(result.backtests) == set(METHODS)
    naive = result.backtests["seasonal_naive"].overall.wape
    assert naive is not None and naive > 0.05
    for method in ("ets", "theta", "mstl"):
        score = result.backtests[method].overall.wape
        assert score is not None and score < naive, (method, score, naive)


def test_auto_picks_the_lowest_backtest_wape(seasonal_trend) -> None:
    series, result = seasonal_trend
    scores = {m: bt.overall.wape for m, bt in result.backtests.items()}
    assert result.method == min(scores, key=lambda m: scores[m])  # type: ignore[arg-type,return-value]
    assert result.requested_method == "auto"
    assert result.volume.shape == (7 * 24,) and np.all(result.volume >= 0)
    assert np.all(np.isfinite(result.aht)) and result.start == series.end()
    bt = result.backtests[result.method]
    assert len(bt.horizons) == 7 and bt.horizons[0].intervals == 7 * 24
    # The trend is up: next week's forecast exceeds the last week of history.
    assert result.volume.sum() > series.volume[-7 * 24 :].sum()
