"""Point-in-time event timing: cut-off in exchange local time, the stock's own calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from janus_core.data.events import (
    first_session_index,
    map_event_days,
    point_in_time_dates,
)


def _prices(calendars: dict[str, list[str]]) -> pl.DataFrame:
    rows = [(s, dt.date.fromisoformat(d)) for s in sorted(calendars) for d in calendars[s]]
    return pl.DataFrame(rows, schema={"symbol": pl.String, "date": pl.Date}, orient="row")


def _events(items: list[tuple[str, str]], tz: str = "Asia/Shanghai") -> pl.DataFrame:
    ts = [dt.datetime.fromisoformat(t).replace(tzinfo=ZoneInfo(tz)).astimezone(dt.timezone.utc) for _, t in items]
    return pl.DataFrame(
        {"symbol": [s for s, _ in items], "published_at": pl.Series(ts, dtype=pl.Datetime("us", "UTC"))}
    )


# Thu 2024-02-08 is the last session before the Spring Festival; Mon 2024-02-19 the first after.
CAL = ["2024-02-07", "2024-02-08", "2024-02-19", "2024-02-20", "2024-02-21"]


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2024-02-07T09:29:59", "2024-02-07"),  # just before the cut-off: trades that day
        ("2024-02-07T09:30:00", "2024-02-08"),  # at the cut-off: next session
        ("2024-02-07T14:00:00", "2024-02-08"),  # intraday
        ("2024-02-07T23:59:00", "2024-02-08"),  # evening
        ("2024-02-08T08:00:00", "2024-02-08"),  # pre-open
        ("2024-02-08T10:00:00", "2024-02-19"),  # last session before the holiday
        ("2024-02-12T12:00:00", "2024-02-19"),  # holiday
        ("2024-02-21T09:30:00", None),  # after the last session: unmapped
    ],
)
def test_cutoff_rule_in_exchange_time(local, expected):
    out = map_event_days(_events([("A", local)]), _prices({"A": CAL}), "Asia/Shanghai", "09:30")
    assert out["event_day"][0] == (dt.date.fromisoformat(expected) if expected else None)


def test_cutoff_and_timezone_come_from_the_arguments():
    ev = _events([("A", "2024-02-07T09:45:00")])  # 09:45 Shanghai = 20:45 New York the day before
    assert map_event_days(ev, _prices({"A": CAL}), "Asia/Shanghai", "10:00")["event_day"][0] == dt.date(2024, 2, 7)
    # Read in New York time the same instant is 2024-02-06 20:45, after a 09:30 cut-off.
    assert map_event_days(ev, _prices({"A": CAL}), "America/New_York", "09:30")["event_day"][0] == dt.date(2024, 2, 7)
    out = map_event_days(ev, _prices({"A": CAL}), "America/New_York", "09:30")
    assert out["published_date"][0] == dt.date(2024, 2, 6) and out["pit_date"][0] == dt.date(2024, 2, 7)


def test_each_stock_uses_its_own_calendar_and_order_is_kept():
    prices = _prices({"A": CAL, "B": ["2024-02-07", "2024-02-20", "2024-02-21"], "C": ["2024-02-07"]})
    ev = _events(
        [
            ("B", "2024-02-07T15:00:00"),
            ("A", "2024-02-07T15:00:00"),
            ("Z", "2024-02-07T15:00:00"),
            ("C", "2024-02-07T15:00:00"),
        ]
    )
    out = map_event_days(ev, prices, "Asia/Shanghai", "09:30")
    assert out["symbol"].to_list() == ["B", "A", "Z", "C"]
    assert out["event_day"].to_list() == [dt.date(2024, 2, 20), dt.date(2024, 2, 8), None, None]


def test_bad_cutoff_is_a_clear_error():
    with pytest.raises(ValueError, match="news_cutoff '9h30'"):
        point_in_time_dates(pl.col("published_at"), "Asia/Shanghai", "9h30")
    with pytest.raises(ValueError, match="hour must be 0-23"):
        point_in_time_dates(pl.col("published_at"), "Asia/Shanghai", "25:00")


def test_first_session_index_edges():
    keys = np.array([0 * 2**20 + 10, 0 * 2**20 + 12, 1 * 2**20 + 11])
    got = first_session_index(keys, np.array([0, 0, 0, 1, 1, -1]), np.array([9, 11, 13, 11, 12, 5]))
    assert got.tolist() == [0, 1, -1, 2, -1, -1]
    assert first_session_index(np.array([], dtype=np.int64), np.array([0]), np.array([1])).tolist() == [-1]
