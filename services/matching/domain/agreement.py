"""The agreements that follow a confirmed match, and what each course of a cohort
requires.

The program signs a **three-way agreement** between the office, the intern and the
host company; the online course instead has a **separate agreement per pair of
parties** (office-intern, office-company, intern-company). Which one a course needs is
configured per cohort: matching learns each cohort's courses from registration's
`CohortOpened`, where a course may name its `agreement_structure`; a course that does
not is signed as its mode says (`STRUCTURE_BY_MODE`). `CohortCourses` reads both.
"""

from __future__ import annotations

import uuid
from typing import Final, Literal

Party = Literal["office", "intern", "company"]
AgreementStructure = Literal["three_way", "per_pair"]

#: The parties of an agreement, in the order they are listed.
PARTIES: Final[tuple[Party, ...]] = ("office", "intern", "company")

#: The documented default: the online course signs per pair (the 2025 call), the
#: courses in Japan one agreement of all three.
STRUCTURE_BY_MODE: Final[dict[str, AgreementStructure]] = {
    "online": "per_pair",
    "in_person": "three_way",
    "visiting": "three_way",
}

AGREEMENT_NAMESPACE = uuid.UUID("5e0f3a9c-2b71-4d8e-a6c4-91d7e3b02f18")


def agreements_required(structure: AgreementStructure) -> list[tuple[Party, ...]]:
    """The agreements a match signs, each as its parties."""
    if structure == "three_way":
        return [PARTIES]
    return [("office", "intern"), ("office", "company"), ("intern", "company")]


def agreement_id_for(match_id: uuid.UUID, parties: tuple[str, ...]) -> uuid.UUID:
    """An agreement's id follows from its match and its parties, so that the same
    agreement has the same id wherever it is named."""
    return uuid.uuid5(AGREEMENT_NAMESPACE, f"agreement:{match_id}:{'+'.join(parties)}")
