"""Who gave a command: recorded on every event the command causes, and published in
the envelope, so that an auditor can tell an applicant's own step from the office's
decision or the system's reaction.

An actor is a plain dict (it is stored in the event log as it is):
`{"kind": "applicant" | "staff" | "company" | "system", "id": str}`, plus `role` for
office staff and `company_id` for a company's user. Build one with the functions below
rather than by hand, so that the shape stays one.
"""

from __future__ import annotations

import uuid
from typing import Literal, NotRequired, TypedDict

ActorKind = Literal["applicant", "staff", "company", "system"]


class Actor(TypedDict):
    kind: ActorKind
    id: str
    role: NotRequired[str]
    company_id: NotRequired[str]


def applicant(applicant_id: uuid.UUID) -> Actor:
    """The applicant acting on their own application (pre-registration, the form, the
    documents)."""
    return {"kind": "applicant", "id": str(applicant_id)}


def inquirer(inquiry_id: uuid.UUID) -> Actor:
    """Someone from the public who sent an inquiry: they have no account, so the inquiry
    is their only identity. (Counted as an applicant: most inquirers are, or become, one.)"""
    return {"kind": "applicant", "id": str(inquiry_id)}


def staff(staff_id: str, role: str) -> Actor:
    """A member of the program office, with the role they acted in."""
    return {"kind": "staff", "id": staff_id, "role": role}


def company_user(user_id: str, company_id: uuid.UUID) -> Actor:
    """A user of a host company's account."""
    return {"kind": "company", "id": user_id, "company_id": str(company_id)}


def system(service: str) -> Actor:
    """A service reacting on its own (a policy following another service's event, a
    mailer recording what it sent)."""
    return {"kind": "system", "id": service}
