"""The age registration publishes (`age_on_reference_date`): whole years on the cohort's
reference date, which is all screening's age rule reads."""

from datetime import date

import pytest

from services.registration.domain.applicant import age_on

REFERENCE = date(2025, 8, 25)  # the FY2025 call's


@pytest.mark.parametrize(
    ("born", "age"),
    [
        (date(2007, 8, 25), 18),  # 18 that very day: eligible
        (date(2007, 8, 26), 17),  # one day short of 18
        (date(1984, 8, 26), 40),  # the last day of 40
        (date(1984, 8, 25), 41),  # one day outside the range
    ],
)
def test_the_age_on_the_reference_date_counts_whole_years(born, age):
    assert age_on(REFERENCE, born) == age


def test_born_on_29_february_turns_a_year_older_on_1_march_of_a_common_year():
    born = date(2004, 2, 29)
    assert age_on(date(2022, 2, 28), born) == 17
    assert age_on(date(2022, 3, 1), born) == 18
    assert age_on(date(2024, 2, 29), born) == 20  # a leap year: on the day itself
