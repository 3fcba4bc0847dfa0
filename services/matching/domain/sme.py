"""Who may host an intern: a small or medium-sized enterprise as the Small and
Medium-sized Enterprise Basic Act (中小企業基本法, Article 2) defines it by industry.

A company is an SME of its industry when its capital (or total investment) is at most
the industry's limit OR its regular employees are at most the industry's limit:

| industry group                                         | capital       | employees |
|--------------------------------------------------------|---------------|-----------|
| manufacturing, construction, transport and the others  | 300 million ¥ | 300       |
| wholesale                                              | 100 million ¥ | 100       |
| services                                               |  50 million ¥ | 100       |
| retail                                                 |  50 million ¥ |  50       |

Only companies are hosts: government bodies, NGOs/NPOs and associations are refused
whatever their size. (The cabinet order's special cases, such as rubber products,
software or hotels, define SMEs for other laws, not the Basic Act: not applied here.)

The rule is pure and versioned: every decision names `RULE_ID` and `RULE_VERSION`, its
reasons and what it saw, so that the office (and an auditor) can tell why a company was
accepted or refused, and run it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

RULE_ID: Final = "sme_basic_act_article_2"
#: Raised when the limits or the groups change (the Act was last amended in 1999).
RULE_VERSION: Final = 1

Industry = Literal[
    "manufacturing", "construction", "transport", "other", "wholesale", "services", "retail"
]
INDUSTRIES: Final[tuple[Industry, ...]] = (
    "manufacturing",
    "construction",
    "transport",
    "other",
    "wholesale",
    "services",
    "retail",
)
OrganisationKind = Literal["company", "government_body", "ngo", "association"]
ORGANISATION_KINDS: Final[tuple[OrganisationKind, ...]] = (
    "company",
    "government_body",
    "ngo",
    "association",
)
IndustryGroup = Literal["manufacturing_and_others", "wholesale", "services", "retail"]


@dataclass(frozen=True)
class Limits:
    """An industry group's ceilings: an SME is at or under at least one of them."""

    group: IndustryGroup
    capital_yen: int
    regular_employees: int


MANUFACTURING_AND_OTHERS: Final = Limits("manufacturing_and_others", 300_000_000, 300)
LIMITS: Final[dict[Industry, Limits]] = {
    "manufacturing": MANUFACTURING_AND_OTHERS,
    "construction": MANUFACTURING_AND_OTHERS,
    "transport": MANUFACTURING_AND_OTHERS,
    "other": MANUFACTURING_AND_OTHERS,
    "wholesale": Limits("wholesale", 100_000_000, 100),
    "services": Limits("services", 50_000_000, 100),
    "retail": Limits("retail", 50_000_000, 50),
}


@dataclass(frozen=True)
class Refusal:
    """One reason a host is not eligible: a code, the field at fault, words the office
    and the company can act on, and the values the rule saw (no personal data)."""

    code: str
    field: str
    text: str
    saw: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "text": self.text, "saw": self.saw}


@dataclass(frozen=True)
class SmeDecision:
    """The rule's verdict on one host, explaining itself."""

    eligible: bool
    industry_group: IndustryGroup
    limits: Limits
    refusals: tuple[Refusal, ...] = field(default=())
    rule_id: str = RULE_ID
    rule_version: int = RULE_VERSION

    def as_dict(self) -> dict[str, Any]:
        """As recorded in the company's events."""
        return {
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "eligible": self.eligible,
            "industry_group": self.industry_group,
            "capital_limit_yen": self.limits.capital_yen,
            "employees_limit": self.limits.regular_employees,
        }


def _yen(amount: int) -> str:
    return f"{amount:,} yen"


def assess_sme(
    organisation_kind: OrganisationKind,
    industry: Industry,
    capital_yen: int,
    regular_employees: int,
) -> SmeDecision:
    """Whether a host is an SME of its industry under the Basic Act, and a company."""
    limits = LIMITS[industry]
    refusals: list[Refusal] = []
    if organisation_kind != "company":
        refusals.append(
            Refusal(
                code="not_a_company",
                field="organisation_kind",
                text=f"hosts are companies; a {organisation_kind.replace('_', ' ')} is not "
                "eligible",
                saw={"organisation_kind": organisation_kind},
            )
        )
    if capital_yen > limits.capital_yen and regular_employees > limits.regular_employees:
        refusals.append(
            Refusal(
                code="not_an_sme",
                field="capital_yen",
                text=f"not a small or medium-sized enterprise in {industry}: its capital "
                f"({_yen(capital_yen)}) is over {_yen(limits.capital_yen)} and its "
                f"{regular_employees} regular employees are over "
                f"{limits.regular_employees} (the SME Basic Act: at most one of the two)",
                saw={
                    "industry": industry,
                    "capital_yen": capital_yen,
                    "regular_employees": regular_employees,
                    "capital_limit_yen": limits.capital_yen,
                    "employees_limit": limits.regular_employees,
                },
            )
        )
    return SmeDecision(
        eligible=not refusals,
        industry_group=limits.group,
        limits=limits,
        refusals=tuple(refusals),
    )
