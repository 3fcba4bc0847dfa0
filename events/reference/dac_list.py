"""The OECD DAC List of ODA Recipients, as data: the countries and territories eligible
for official development assistance, whose nationals the Japan Internship Program calls
for. Each edition applies to the ODA flows of named years; a cohort names the edition in
force for it (`CohortRules.recipient_list`), and registration copies the edition's codes
into the cohort's terms so that the event log alone explains every decision.

Sources (the OECD's own pages; read 2026-11-22):
- the current list, "DAC List of ODA Recipients, effective for reporting on 2024 and
  2025 flows": https://www.oecd.org/en/topics/sub-issues/oda-eligibility-and-conditions/dac-list-of-oda-recipients.html
  (income groups on per-capita GNI in 2022: LDCs as defined by the UN; other LICs
  <= $1,135; LMICs $1,136-$4,465; UMICs $4,466-$13,845);
- the list for 2021 flows: the 2018-2020 list ("effective for reporting on 2018, 2019 and
  2020 flows", https://www.oecd.org/dac/financing-sustainable-development/development-finance-standards/DAC_List_ODA_Recipients2018to2020_flows_En.pdf)
  with the changes the DAC's page records for 2021: Vanuatu moved from the LDCs to the
  LMICs ("no other changes to any of the classifications"), and the Cook Islands, whose
  graduation the DAC had deferred to its 2019 review, graduated as of 1 January 2020.

How the data was checked: membership (what eligibility uses) against the OECD's notes on
each triennial review (Antigua and Barbuda graduated on 1 January 2022; Nauru's
graduation deferred to 2026 and Montserrat's decision to October 2025, so both stay on
the 2024-2025 list; no country joined), the Cook Islands' graduation on 1 January 2020
(Australia's DFAT and New Zealand's MFAT country pages), and the totals: 142 recipients
for 2021 and 141 for 2024-2025. Income groups follow the World Bank classification the
list was drawn from (FY2018 for 2016 GNI, FY2024 for 2022 GNI): e.g. Jordan is an LMIC
on both, the World Bank having moved it down in July 2017 and again in July 2023, and El
Salvador, Indonesia and the West Bank and Gaza Strip are UMICs in 2024. Column
positions were cross-checked against the published PDFs' layout (the LMIC column opens
with Algeria in 2024 and Armenia in 2018; the UMIC column closes with the West Bank and
Gaza Strip in 2024). The income group is informational: the program's rule is
membership of the list.

Left out, on purpose: the regional and "unspecified" lines of the OECD's recipient
codes (e.g. "Africa, regional", "Developing countries, unspecified"), which are not
countries anyone is a national of. Recipients ISO 3166-1 has no ordinary code for:
Kosovo is `XK` (user-assigned; see `events.reference.countries`), the West Bank and Gaza
Strip is `PS` (ISO 3166-1's "Palestine, State of"), Saint Helena is `SH` (ISO's "Saint
Helena, Ascension and Tristan da Cunha").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IncomeGroup = Literal["LDC", "other_LIC", "LMIC", "UMIC"]
INCOME_GROUPS: tuple[IncomeGroup, ...] = ("LDC", "other_LIC", "LMIC", "UMIC")


@dataclass(frozen=True)
class Recipient:
    code: str  # ISO 3166-1 alpha-2, or XK
    name: str  # as the OECD writes it
    income_group: IncomeGroup


@dataclass(frozen=True)
class Edition:
    """One edition of the list: which flow years it applies to and who is on it."""

    id: str
    title: str
    source_url: str
    flow_years: tuple[int, ...]
    recipients: tuple[Recipient, ...]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.recipients)

    def in_group(self, group: IncomeGroup) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if r.income_group == group)


def _parse(groups: dict[IncomeGroup, str]) -> tuple[Recipient, ...]:
    """Each group is written one recipient a line, `CODE name`."""
    return tuple(
        Recipient(code=line[:2], name=line[3:].strip(), income_group=group)
        for group, block in groups.items()
        for line in block.strip().splitlines()
    )


# The UN's Least Developed Countries on the 2024-2025 list. Bhutan graduated from the
# LDCs on 13 December 2023 (so it is an LMIC here). São Tomé and Príncipe and the Solomon
# Islands were to graduate on 13 December 2024; the OECD keeps them in this column and
# will move them "if it is confirmed" for 2025-2026 reporting: membership is unchanged.
_LDC_2024 = """
AF Afghanistan
AO Angola
BD Bangladesh
BJ Benin
BF Burkina Faso
BI Burundi
KH Cambodia
CF Central African Republic
TD Chad
KM Comoros
CD Democratic Republic of the Congo
DJ Djibouti
ER Eritrea
ET Ethiopia
GM Gambia
GN Guinea
GW Guinea-Bissau
HT Haiti
KI Kiribati
LA Lao People's Democratic Republic
LS Lesotho
LR Liberia
MG Madagascar
MW Malawi
ML Mali
MR Mauritania
MZ Mozambique
MM Myanmar
NP Nepal
NE Niger
RW Rwanda
ST Sao Tome and Principe
SN Senegal
SL Sierra Leone
SB Solomon Islands
SO Somalia
SS South Sudan
SD Sudan
TZ Tanzania
TL Timor-Leste
TG Togo
TV Tuvalu
UG Uganda
YE Yemen
ZM Zambia
"""

_OTHER_LIC_2024 = """
KP Democratic People's Republic of Korea
SY Syrian Arab Republic
"""

_LMIC_2024 = """
DZ Algeria
BT Bhutan
BO Bolivia
CV Cabo Verde
CM Cameroon
CG Congo
CI Côte d'Ivoire
EG Egypt
SZ Eswatini
GH Ghana
HN Honduras
IN India
IR Iran
JO Jordan
KE Kenya
KG Kyrgyzstan
LB Lebanon
FM Micronesia
MN Mongolia
MA Morocco
NI Nicaragua
NG Nigeria
PK Pakistan
PG Papua New Guinea
PH Philippines
WS Samoa
LK Sri Lanka
TJ Tajikistan
TK Tokelau
TN Tunisia
UA Ukraine
UZ Uzbekistan
VU Vanuatu
VN Viet Nam
ZW Zimbabwe
"""

# Guyana and Panama exceeded the high-income threshold in 2022 and Nauru's graduation
# takes effect on 1 January 2026: all three are recipients for 2024 and 2025 flows.
_UMIC_2024 = """
AL Albania
AR Argentina
AM Armenia
AZ Azerbaijan
BY Belarus
BZ Belize
BA Bosnia and Herzegovina
BW Botswana
BR Brazil
CN China (People's Republic of)
CO Colombia
CR Costa Rica
CU Cuba
DM Dominica
DO Dominican Republic
EC Ecuador
SV El Salvador
GQ Equatorial Guinea
FJ Fiji
GA Gabon
GE Georgia
GD Grenada
GT Guatemala
GY Guyana
ID Indonesia
IQ Iraq
JM Jamaica
KZ Kazakhstan
XK Kosovo
LY Libya
MY Malaysia
MV Maldives
MH Marshall Islands
MU Mauritius
MX Mexico
MD Moldova
ME Montenegro
MS Montserrat
NA Namibia
NR Nauru
NU Niue
MK North Macedonia
PW Palau
PA Panama
PY Paraguay
PE Peru
SH Saint Helena
LC Saint Lucia
VC Saint Vincent and the Grenadines
RS Serbia
ZA South Africa
SR Suriname
TH Thailand
TO Tonga
TR Türkiye
TM Turkmenistan
VE Venezuela
WF Wallis and Futuna
PS West Bank and Gaza Strip
"""

# 2021 flows: the 2018-2020 list (income groups on per-capita GNI in 2016: other LICs
# <= $1,005; LMICs $1,006-$3,955; UMICs $3,956-$12,235) with Vanuatu moved to the LMICs
# and the Cook Islands graduated (1 January 2020).
_LDC_2021 = """
AF Afghanistan
AO Angola
BD Bangladesh
BJ Benin
BT Bhutan
BF Burkina Faso
BI Burundi
KH Cambodia
CF Central African Republic
TD Chad
KM Comoros
CD Democratic Republic of the Congo
DJ Djibouti
ER Eritrea
ET Ethiopia
GM Gambia
GN Guinea
GW Guinea-Bissau
HT Haiti
KI Kiribati
LA Lao People's Democratic Republic
LS Lesotho
LR Liberia
MG Madagascar
MW Malawi
ML Mali
MR Mauritania
MZ Mozambique
MM Myanmar
NP Nepal
NE Niger
RW Rwanda
ST Sao Tome and Principe
SN Senegal
SL Sierra Leone
SB Solomon Islands
SO Somalia
SS South Sudan
SD Sudan
TZ Tanzania
TL Timor-Leste
TG Togo
TV Tuvalu
UG Uganda
YE Yemen
ZM Zambia
"""

_OTHER_LIC_2021 = """
KP Democratic People's Republic of Korea
ZW Zimbabwe
"""

_LMIC_2021 = """
AM Armenia
BO Bolivia
CV Cabo Verde
CM Cameroon
CG Congo
CI Côte d'Ivoire
EG Egypt
SV El Salvador
SZ Eswatini
GE Georgia
GH Ghana
GT Guatemala
HN Honduras
IN India
ID Indonesia
JO Jordan
KE Kenya
XK Kosovo
KG Kyrgyzstan
FM Micronesia
MD Moldova
MN Mongolia
MA Morocco
NI Nicaragua
NG Nigeria
PK Pakistan
PG Papua New Guinea
PH Philippines
LK Sri Lanka
SY Syrian Arab Republic
TJ Tajikistan
TK Tokelau
TN Tunisia
UA Ukraine
UZ Uzbekistan
VU Vanuatu
VN Viet Nam
PS West Bank and Gaza Strip
"""

_UMIC_2021 = """
AL Albania
DZ Algeria
AG Antigua and Barbuda
AR Argentina
AZ Azerbaijan
BY Belarus
BZ Belize
BA Bosnia and Herzegovina
BW Botswana
BR Brazil
CN China (People's Republic of)
CO Colombia
CR Costa Rica
CU Cuba
DM Dominica
DO Dominican Republic
EC Ecuador
GQ Equatorial Guinea
FJ Fiji
GA Gabon
GD Grenada
GY Guyana
IR Iran
IQ Iraq
JM Jamaica
KZ Kazakhstan
LB Lebanon
LY Libya
MY Malaysia
MV Maldives
MH Marshall Islands
MU Mauritius
MX Mexico
ME Montenegro
MS Montserrat
NA Namibia
NR Nauru
NU Niue
MK North Macedonia
PW Palau
PA Panama
PY Paraguay
PE Peru
SH Saint Helena
LC Saint Lucia
VC Saint Vincent and the Grenadines
WS Samoa
RS Serbia
ZA South Africa
SR Suriname
TH Thailand
TO Tonga
TR Turkey
TM Turkmenistan
VE Venezuela
WF Wallis and Futuna
"""

EDITIONS: dict[str, Edition] = {
    e.id: e
    for e in (
        Edition(
            id="oecd-dac-2024-2025",
            title="DAC List of ODA Recipients, effective for reporting on 2024 and 2025 flows",
            source_url="https://www.oecd.org/en/topics/sub-issues/oda-eligibility-and-conditions/dac-list-of-oda-recipients.html",
            flow_years=(2024, 2025),
            recipients=_parse(
                {
                    "LDC": _LDC_2024,
                    "other_LIC": _OTHER_LIC_2024,
                    "LMIC": _LMIC_2024,
                    "UMIC": _UMIC_2024,
                }
            ),
        ),
        Edition(
            id="oecd-dac-2021",
            title="DAC List of ODA Recipients for reporting on 2021 flows (the 2018-2020 "
            "list as revised for 2021)",
            source_url="https://www.oecd.org/dac/financing-sustainable-development/development-finance-standards/daclist.htm",
            flow_years=(2021,),
            recipients=_parse(
                {
                    "LDC": _LDC_2021,
                    "other_LIC": _OTHER_LIC_2021,
                    "LMIC": _LMIC_2021,
                    "UMIC": _UMIC_2021,
                }
            ),
        ),
    )
}


class UnknownEdition(KeyError):
    """No edition of the DAC List has this id."""


def edition(edition_id: str) -> Edition:
    """The edition with this id (e.g. "oecd-dac-2024-2025")."""
    try:
        return EDITIONS[edition_id]
    except KeyError:
        raise UnknownEdition(edition_id) from None


def recipient_codes(edition_id: str) -> list[str]:
    """The edition's recipients as sorted country codes (what a cohort's terms hold)."""
    return sorted(edition(edition_id).codes)


def edition_for_year(year: int) -> Edition:
    """The edition in force for flows of `year`: the one that applies to it, else the
    latest one published before it (a list stays in force until the DAC revises it)."""
    covering = [e for e in EDITIONS.values() if year in e.flow_years]
    if covering:
        return covering[0]
    earlier = [e for e in EDITIONS.values() if max(e.flow_years) < year]
    if not earlier:
        raise UnknownEdition(f"no edition of the DAC List applies to {year}")
    return max(earlier, key=lambda e: max(e.flow_years))
