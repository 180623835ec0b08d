"""SOQL's relative date literals (TODAY, LAST_N_DAYS:n, THIS_WEEK ...) as half-open ranges of days.

Each literal names a range of whole days relative to today in the org's time zone: `[first_day, end_day)`. The
caller turns days into moments (midnight in that zone) when the field is a datetime. Facts from Salesforce's "Date
Formats and Date Literals" reference: LAST_N_DAYS:n includes today (LAST_N_DAYS:1 is yesterday and today);
NEXT_N_DAYS:n starts tomorrow; weeks start on the locale's first day (Sunday for the ja and en_US locales the seed
users have); quarters here are calendar quarters. Fiscal literals depend on the org's fiscal year settings, which
the local org does not have, so they are refused rather than guessed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Optional

_FIXED = ("YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH", "THIS_MONTH",
          "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER", "THIS_YEAR",
          "LAST_YEAR", "NEXT_YEAR")
_WITH_N = ("LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS", "N_WEEKS_AGO",
           "LAST_N_MONTHS", "NEXT_N_MONTHS", "N_MONTHS_AGO", "LAST_N_QUARTERS", "NEXT_N_QUARTERS", "N_QUARTERS_AGO",
           "LAST_N_YEARS", "NEXT_N_YEARS", "N_YEARS_AGO")
_FISCAL = ("THIS_FISCAL_QUARTER", "LAST_FISCAL_QUARTER", "NEXT_FISCAL_QUARTER", "THIS_FISCAL_YEAR",
           "LAST_FISCAL_YEAR", "NEXT_FISCAL_YEAR", "LAST_N_FISCAL_QUARTERS", "NEXT_N_FISCAL_QUARTERS",
           "N_FISCAL_QUARTERS_AGO", "LAST_N_FISCAL_YEARS", "NEXT_N_FISCAL_YEARS", "N_FISCAL_YEARS_AGO")


def kind(name: str) -> Optional[str]:
    """"fixed", "with_n", "fiscal" for a date literal's name (any case), None for anything else."""
    upper = name.upper()
    if upper in _FIXED:
        return "fixed"
    if upper in _WITH_N:
        return "with_n"
    if upper in _FISCAL:
        return "fiscal"
    return None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def day_range(name: str, n: Optional[int], today: date) -> tuple[date, date]:
    """The half-open range of days `[first, end)` a literal covers, for `today` in the org's time zone."""
    upper = name.upper()
    week = today - timedelta(days=(today.weekday() + 1) % 7)  # Sunday
    month = today.replace(day=1)
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    year = date(today.year, 1, 1)
    one_day = timedelta(days=1)
    fixed = {
        "YESTERDAY": (today - one_day, today),
        "TODAY": (today, today + one_day),
        "TOMORROW": (today + one_day, today + 2 * one_day),
        "LAST_WEEK": (week - timedelta(days=7), week),
        "THIS_WEEK": (week, week + timedelta(days=7)),
        "NEXT_WEEK": (week + timedelta(days=7), week + timedelta(days=14)),
        "LAST_MONTH": (_add_months(month, -1), month),
        "THIS_MONTH": (month, _add_months(month, 1)),
        "NEXT_MONTH": (_add_months(month, 1), _add_months(month, 2)),
        "LAST_90_DAYS": (today - timedelta(days=90), today + one_day),
        "NEXT_90_DAYS": (today + one_day, today + timedelta(days=91)),
        "LAST_QUARTER": (_add_months(quarter, -3), quarter),
        "THIS_QUARTER": (quarter, _add_months(quarter, 3)),
        "NEXT_QUARTER": (_add_months(quarter, 3), _add_months(quarter, 6)),
        "LAST_YEAR": (_add_months(year, -12), year),
        "THIS_YEAR": (year, _add_months(year, 12)),
        "NEXT_YEAR": (_add_months(year, 12), _add_months(year, 24)),
    }
    if upper in fixed:
        return fixed[upper]
    assert n is not None
    unit_start, step = {
        "DAYS": (today, lambda start, k: start + timedelta(days=k)),
        "WEEKS": (week, lambda start, k: start + timedelta(days=7 * k)),
        "MONTHS": (month, _add_months),
        "QUARTERS": (quarter, lambda start, k: _add_months(start, 3 * k)),
        "YEARS": (year, lambda start, k: _add_months(start, 12 * k)),
    }[upper.split("_")[1] if upper.endswith("_AGO") else upper.split("_")[-1]]
    if upper == "LAST_N_DAYS":
        return today - timedelta(days=n), today + one_day
    if upper.startswith("LAST_N_"):
        return step(unit_start, -n), unit_start
    if upper.startswith("NEXT_N_"):
        return step(unit_start, 1), step(unit_start, 1 + n)
    return step(unit_start, -n), step(unit_start, -n + 1)  # N_<UNIT>_AGO
