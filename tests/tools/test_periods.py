"""The one period grammar (tools/periods.py): every form a user types, in chat and on the command line,
resolves to the same dates against one stated "today"; nonsense is an error that names the value."""

from __future__ import annotations

from datetime import date

import pytest

from tools.periods import Period, PeriodError, find_period, find_periods, parse_period

TODAY = date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("last-month", date(2026, 10, 1), date(2026, 10, 31)),
        ("last month", date(2026, 10, 1), date(2026, 10, 31)),
        ("LAST_MONTH", date(2026, 10, 1), date(2026, 10, 31)),
        ("this-month", date(2026, 11, 1), date(2026, 11, 30)),
        ("last-week", date(2026, 11, 23), date(2026, 11, 29)),
        ("this week", date(2026, 11, 30), date(2026, 11, 30)),
        ("last quarter", date(2026, 7, 1), date(2026, 9, 30)),
        ("last-quarter", date(2026, 7, 1), date(2026, 9, 30)),
        ("Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("Q1 2026", date(2026, 1, 1), date(2026, 3, 31)),
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
        ("H1 2026", date(2026, 1, 1), date(2026, 6, 30)),
        ("October", date(2026, 10, 1), date(2026, 10, 31)),
        ("December", date(2025, 12, 1), date(2025, 12, 31)),  # the latest December not after today
        ("oct 2025", date(2025, 10, 1), date(2025, 10, 31)),
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-10-05", date(2026, 10, 5), date(2026, 10, 5)),
        ("2026-10-01..2026-10-15", date(2026, 10, 1), date(2026, 10, 15)),
        ("2026-10-01 to 2026-10-15", date(2026, 10, 1), date(2026, 10, 15)),
        ("last 30 days", date(2026, 11, 1), date(2026, 11, 30)),
        ("since 2026-09-01", date(2026, 9, 1), TODAY),
        ("since 1 Sept", date(2026, 9, 1), TODAY),
        ("since September", date(2026, 9, 1), TODAY),
        ("ytd", date(2026, 1, 1), TODAY),
        ("yesterday", date(2026, 11, 29), date(2026, 11, 29)),
    ],
)
def test_every_form_reads_as_the_same_dates(text: str, start: date, end: date) -> None:
    period = parse_period(text, TODAY)
    assert (period.start, period.end) == (start, end)
    assert start.isoformat() in period.describe()  # answers state the resolved dates


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("2026-13", "01 to 12"),
        ("2026-10-05..2026-10-01", "end is before the start"),
        ("2000-01-01..2099-12-31", "ten years"),
        ("1900", "before 1970"),
        ("soon", "cannot read period 'soon'"),
        ("", "empty"),
        ("since 2027-01-01", "after today"),
        ("2026-02-30", "not a date"),
    ],
)
def test_nonsense_is_an_error_naming_the_value(text: str, needle: str) -> None:
    with pytest.raises(PeriodError, match=needle):
        parse_period(text, TODAY)


def test_periods_inside_sentences() -> None:
    assert find_period("how many hours did Ana log since 1 Sept for Acme?", TODAY) == Period(
        start=date(2026, 9, 1), end=TODAY, label="since 2026-09-01"
    )
    both = find_periods("billable hours this month vs last month", TODAY)
    assert [(p.start, p.end) for p in both] == [
        (date(2026, 11, 1), TODAY),
        (date(2026, 10, 1), date(2026, 10, 31)),
    ]
    assert find_period("may I see who is over capacity?", TODAY) is None  # "may" the verb
    assert find_period("who logged time in May 2026", TODAY) == parse_period("2026-05", TODAY)
    with pytest.raises(PeriodError):  # a period nobody can mean is not silently ignored
        find_period("tasks closed in 2026-13", TODAY)


def test_the_cli_and_chat_agree() -> None:
    """The old copies disagreed: `analyze billing --period last-month` failed, `retro --period 2026`
    failed, only chat read "last quarter". One grammar reads all of them, the same way."""
    from agent.runs import parse_period as run_period

    for text in ("last-month", "2026", "last quarter", "Q3", "October"):
        assert run_period(text, "retro", TODAY) == (
            parse_period(text, TODAY).start,
            parse_period(text, TODAY).end,
        )
        assert find_period(f"retro for {text}", TODAY) == parse_period(text, TODAY)


def test_previous_period_for_comparisons() -> None:
    october = parse_period("2026-10", TODAY)
    assert (october.previous().start, october.previous().end) == (date(2026, 9, 1), date(2026, 9, 30))
    week = parse_period("last week", TODAY)
    assert (week.previous().start, week.previous().end) == (date(2026, 11, 16), date(2026, 11, 22))
