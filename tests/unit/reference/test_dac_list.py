"""The OECD DAC List of ODA Recipients as the program ships it: complete, and every
recipient can register."""

import pytest
from pydantic import TypeAdapter, ValidationError

from events.reference import dac_list
from events.reference.countries import is_country_code
from services.registration.adapters.http_api.dependencies import Country

#: Recipients per income group, as the OECD publishes each edition.
COUNTS = {
    "oecd-dac-2024-2025": {"LDC": 45, "other_LIC": 2, "LMIC": 35, "UMIC": 59},
    "oecd-dac-2021": {"LDC": 46, "other_LIC": 2, "LMIC": 38, "UMIC": 56},
}

COUNTRY = TypeAdapter(Country)


@pytest.mark.parametrize("edition_id", sorted(dac_list.EDITIONS))
def test_every_recipient_of_an_edition_registers_as_a_national(edition_id):
    edition = dac_list.edition(edition_id)
    for recipient in edition.recipients:
        assert COUNTRY.validate_python(recipient.code) == recipient.code, recipient.name


@pytest.mark.parametrize(("edition_id", "counts"), sorted(COUNTS.items()))
def test_an_edition_has_the_published_number_of_recipients_in_each_group(edition_id, counts):
    edition = dac_list.edition(edition_id)
    assert {g: len(edition.in_group(g)) for g in dac_list.INCOME_GROUPS} == counts
    assert len(edition.codes) == len(edition.recipients) == sum(counts.values())


def test_the_2024_2025_list_has_china_viet_nam_indonesia_kosovo_and_palestine():
    codes = dac_list.edition("oecd-dac-2024-2025").codes
    assert {"CN", "VN", "ID", "XK", "PS"} <= codes


@pytest.mark.parametrize("code", ["US", "DE", "KR", "SG", "JP", "AG", "CL"])
def test_high_income_countries_are_not_on_the_2024_2025_list(code):
    assert code not in dac_list.edition("oecd-dac-2024-2025").codes


def test_antigua_and_barbuda_left_the_list_after_2021():
    assert "AG" in dac_list.edition("oecd-dac-2021").codes
    assert "AG" not in dac_list.edition("oecd-dac-2024-2025").codes


def test_each_edition_names_its_source_and_the_flow_years_it_applies_to():
    for edition in dac_list.EDITIONS.values():
        assert edition.source_url.startswith("https://www.oecd.org/")
        assert edition.flow_years
    assert dac_list.edition("oecd-dac-2024-2025").flow_years == (2024, 2025)


def test_an_unknown_edition_is_refused_by_name():
    with pytest.raises(dac_list.UnknownEdition):
        dac_list.edition("oecd-dac-1999")


def test_kosovo_is_a_country_registration_accepts_though_iso_has_no_code_for_it():
    assert is_country_code("XK")
    assert COUNTRY.validate_python("XK") == "XK"


@pytest.mark.parametrize("code", ["XX", "ZZ", "AA", "EU"])
def test_codes_that_name_no_country_are_refused(code):
    assert not is_country_code(code)
    with pytest.raises(ValidationError):
        COUNTRY.validate_python(code)


@pytest.mark.parametrize(
    ("edition_id", "code", "group"),
    [
        ("oecd-dac-2024-2025", "BT", "LMIC"),  # graduated from the LDCs in December 2023
        ("oecd-dac-2021", "BT", "LDC"),
        ("oecd-dac-2021", "VU", "LMIC"),  # the one change for 2021 flows
        ("oecd-dac-2024-2025", "JO", "LMIC"),  # moved down by the World Bank in July 2023
        ("oecd-dac-2024-2025", "PS", "UMIC"),
        ("oecd-dac-2024-2025", "XK", "UMIC"),
        ("oecd-dac-2024-2025", "KP", "other_LIC"),
        ("oecd-dac-2024-2025", "SY", "other_LIC"),
        ("oecd-dac-2021", "ZW", "other_LIC"),
    ],
)
def test_a_recipient_is_in_the_income_group_the_oecd_lists_it_in(edition_id, code, group):
    [recipient] = [r for r in dac_list.edition(edition_id).recipients if r.code == code]
    assert recipient.income_group == group


def test_the_cook_islands_graduated_before_2021():
    assert "CK" not in dac_list.edition("oecd-dac-2021").codes
