"""The program's fiscal years: Japan's, April to March, in Japan Standard Time (FY2025
is 1 April 2025 to 31 March 2026). A cohort's id names the fiscal year it fills."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


def fiscal_year_of_cohort(cohort_id: str) -> int:
    """FY2025 and FY2025-B both fill fiscal year 2025."""
    return int(cohort_id[2:6])


def fiscal_year_start(fiscal_year: int) -> datetime:
    """The first instant of the fiscal year (1 April, 00:00 JST)."""
    return datetime(fiscal_year, 4, 1, tzinfo=JST)


def fiscal_year_of(moment: datetime) -> int:
    """The fiscal year an aware instant falls in, as the office in Japan counts it."""
    local = moment.astimezone(JST)
    return local.year if local.month >= 4 else local.year - 1
