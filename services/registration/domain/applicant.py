"""An application: one applicant's intake in one cohort, from pre-registration to
documents. Personal details are kept as the applicant gave them; amendments by the
office are recorded with their reason, never overwritten silently.

Personal values (the address, names, date of birth, document file names, the reason of
an amendment) are recorded *sealed* with the applicant's key (`events/privacy.py`): each
command that receives them checks its rules on the clear values, then records them
through the `Seal` it is given, so that no event of this aggregate holds them in clear
and erasing the applicant's key erases them everywhere. What the rules of later steps
need is recorded as a fact instead (the age on the cohort's reference date).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.fiscal import fiscal_year_of_cohort
from kernel.rules import RuleViolation, require
from services.registration.domain.documents import outstanding_documents

#: Seals one personal value with its data subject's key (given by the application).
Seal = Callable[[Any], str]

#: The registration form's personal details, recorded sealed (the rest are facts about
#: education, languages and preferences, published as they are).
PERSONAL_DETAILS = frozenset({"given_name", "family_name", "date_of_birth"})

#: Details the office may amend on an applicant's request (domain page: name,
#: nationality, age, language, address), with the field names of the registration form.
AMENDABLE_FIELDS = frozenset(
    {
        "given_name",
        "family_name",
        "date_of_birth",
        "nationality",
        "country_of_residence",
        "languages",
        "education",
        # The language the applicant is written to in (not a fact screening decides on).
        "language",
    }
)


def normalise_email(email: str) -> str:
    """One address, however it is typed: surrounding spaces and case do not count."""
    return email.strip().lower()


def age_on(reference_date: date, date_of_birth: date) -> int:
    """Whole years of age on `reference_date`."""
    before_birthday = (reference_date.month, reference_date.day) < (
        date_of_birth.month,
        date_of_birth.day,
    )
    return reference_date.year - date_of_birth.year - int(before_birthday)


def _age_from(reference_date: date, date_of_birth: object, field: str) -> int:
    born = (
        date_of_birth if isinstance(date_of_birth, date) else date.fromisoformat(str(date_of_birth))
    )
    age = age_on(reference_date, born)
    require(0 <= age <= 150, field, "this date of birth is not possible")
    return age


#: How far ahead an expected graduation may be and still be believed.
GRADUATION_HORIZON_YEARS = 10


def check_plausible(
    details: Mapping[str, Any], cohort_id: str, today: date, *, prefix: str = ""
) -> None:
    """Refuse what cannot be true, naming the field, rather than assess it: a birth in
    the future, a graduation decades ahead, a participation after this very cohort.
    Checks the details present (an amendment names only those it changes); `prefix`
    is how the caller's input names them (e.g. "changes.")."""
    if "date_of_birth" in details:
        born = _as_date(details["date_of_birth"])
        require(born <= today, f"{prefix}date_of_birth", "a date of birth cannot be in the future")
    graduation = (details.get("education") or {}).get("graduation_date")
    horizon = today.replace(year=today.year + GRADUATION_HORIZON_YEARS, day=min(today.day, 28))
    require(
        graduation is None or _as_date(graduation) <= horizon,
        f"{prefix}education.graduation_date",
        f"a graduation more than {GRADUATION_HORIZON_YEARS} years ahead is not plausible",
    )
    fiscal_year = fiscal_year_of_cohort(cohort_id)
    for i, year in enumerate(details.get("previous_participation_years", [])):
        require(
            year < fiscal_year,
            f"{prefix}previous_participation_years.{i}",
            f"FY{year} is not before this cohort, {cohort_id}",
        )


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _sealed(values: Mapping[str, Any], seal: Seal) -> dict[str, Any]:
    return {k: seal(v) if k in PERSONAL_DETAILS else v for k, v in values.items()}


class EmailClaim(Aggregate):
    """Reserves an address in a cohort for one application. Saved atomically with the
    application, its deterministic id makes a second claim of the same address fail:
    one live application per address per cohort. An erased application releases its
    claim, and the address may then apply again.

    The id is a keyed hash (HMAC-SHA256 with the service's pseudonym secret) of the
    cohort and the address, never the address nor a plain hash of it: the store must not
    let anyone who reads it test whether a given address applied (a plain uuid5 of the
    address can be recomputed by anyone for any address they guess), and after an
    erasure nothing left in the log may lead back to the address. The secret lives
    outside the log, like the key store's credentials."""

    @staticmethod
    def create_id(claim_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return claim_id

    @staticmethod
    def id_for(secret: bytes, cohort_id: str, email: str) -> uuid.UUID:
        return keyed_uuid(secret, f"email-claim:{cohort_id}:{normalise_email(email)}")

    @event("Claimed")
    def __init__(self, claim_id: uuid.UUID, cohort_id: str, applicant_id: uuid.UUID) -> None:
        self.cohort_id = cohort_id
        self.applicant_id: uuid.UUID | None = applicant_id

    @event("Released")
    def release(self, applicant_id: uuid.UUID) -> None:
        """The application was erased: the address is free to apply again."""
        self.applicant_id = None

    @event("Reclaimed")
    def reclaim(self, applicant_id: uuid.UUID) -> None:
        """A released address applies again, as a new application."""
        self.applicant_id = applicant_id


def keyed_uuid(secret: bytes, text: str) -> uuid.UUID:
    """A uuid that only the holder of `secret` can derive from `text` (HMAC-SHA256)."""
    digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


class Applicant(Aggregate):
    """Stages: preregistered -> registered (documents may then follow, in any number of
    submissions, until none is outstanding). At any time the applicant may restrict the
    use of their data, or have it erased (see the privacy policy's rights)."""

    @staticmethod
    def create_id(applicant_id: uuid.UUID, **_: Any) -> uuid.UUID:
        # Chosen by the command, so that the pre-registering applicant can be named as
        # the actor of their own application's first event.
        return applicant_id

    @event("Preregistered")
    def __init__(
        self,
        applicant_id: uuid.UUID,
        cohort_id: str,
        email: str,
        preregistered_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        email_claim_id: uuid.UUID | None = None,
    ) -> None:
        self.cohort_id = cohort_id
        #: Sealed.
        self.email = email
        self.email_claim_id = email_claim_id
        self.preregistered_at = preregistered_at
        self.link_number = 0
        self.link_expires_at: datetime | None = None
        #: The form as registered, its personal details sealed.
        self.details: dict[str, Any] | None = None
        self.registered_at: datetime | None = None
        self.documents: list[dict[str, Any]] = []
        self.amendments: list[dict[str, Any]] = []
        self.privacy_requests: list[uuid.UUID] = []
        self.use_suspended = False
        self.third_party_provision_stopped = False
        self.erased = False

    def _check_not_erased(self) -> None:
        require(not self.erased, "applicant_id", "this application was erased", conflict=True)

    # -- the registration link ---------------------------------------------------------
    def issue_registration_link(
        self, at: datetime, valid_for: timedelta, correlation_id: uuid.UUID, actor: Actor
    ) -> None:
        self._check_not_erased()
        require(
            self.details is None,
            "email",
            "this application is already registered",
            conflict=True,
        )
        self._registration_link_issued(
            cohort_id=self.cohort_id,
            email=self.email,
            link_number=self.link_number + 1,
            expires_at=at + valid_for,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("RegistrationLinkIssued")
    def _registration_link_issued(
        self,
        cohort_id: str,
        email: str,
        link_number: int,
        expires_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.link_number = link_number
        self.link_expires_at = expires_at

    def check_registration_link(self, link_number: int, at: datetime) -> None:
        """A link is good once, for registration only, until it expires; issuing a new
        link retires the older ones."""
        self._check_not_erased()
        require(
            self.details is None, "token", "this registration link was already used", conflict=True
        )
        require(link_number == self.link_number, "token", "this registration link was replaced")
        require(
            self.link_expires_at is not None and at < self.link_expires_at,
            "token",
            "this registration link has expired; ask for a new one",
        )

    # -- full registration -------------------------------------------------------------
    def register(
        self,
        link_number: int,
        details: dict[str, Any],
        course_codes: list[str],
        age_reference_date: date,
        at: datetime,
        seal: Seal,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> None:
        """`details` in clear, as the form gave them; recorded with the personal ones
        sealed, and the age on the cohort's reference date beside them."""
        self.check_registration_link(link_number, at)
        for i, code in enumerate(details["course_preferences"]):
            require(
                code in course_codes,
                f"course_preferences.{i}",
                f"course {code} is not offered in {self.cohort_id}",
            )
        require(
            details["privacy_policy_consent"] is True,
            "privacy_policy_consent",
            "consent to the privacy policy is required to process an application",
        )
        check_plausible(details, self.cohort_id, at.date())
        age = _age_from(age_reference_date, details["date_of_birth"], "date_of_birth")
        self._registered(
            cohort_id=self.cohort_id,
            email=self.email,
            details=_sealed(details, seal),
            age_on_reference_date=age,
            registered_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("Registered")
    def _registered(
        self,
        cohort_id: str,
        email: str,
        details: dict[str, Any],
        registered_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        age_on_reference_date: int | None = None,
    ) -> None:
        self.details = details
        self.registered_at = registered_at

    # -- documents ---------------------------------------------------------------------
    def submit_documents(
        self,
        documents: list[dict[str, Any]],
        at: datetime,
        seal: Seal,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> None:
        """`documents` as stored, with the uploaded file names in clear (recorded
        sealed: a file name often names its owner)."""
        self._check_not_erased()
        if self.details is None:
            raise RuleViolation(
                "applicant_id", "documents come after the full registration", conflict=True
            )
        require(len(documents) > 0, "files", "at least one document is required")
        submitted = {d["kind"] for d in [*self.documents, *documents]}
        assert self.details is not None
        self._documents_submitted(
            cohort_id=self.cohort_id,
            documents=[{**d, "filename": seal(d["filename"])} for d in documents],
            outstanding=outstanding_documents(self.details["education"]["status"], submitted),
            submitted_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("DocumentsSubmitted")
    def _documents_submitted(
        self,
        cohort_id: str,
        documents: list[dict[str, Any]],
        outstanding: list[str],
        submitted_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.documents.extend(documents)

    def outstanding_documents(self) -> list[str]:
        if self.details is None:
            return []
        submitted = {d["kind"] for d in self.documents}
        return outstanding_documents(self.details["education"]["status"], submitted)

    # -- amendments by the office ------------------------------------------------------
    def amend_details(
        self,
        changes: dict[str, Any],
        reason: str,
        amended_by: str,
        age_reference_date: date,
        at: datetime,
        seal: Seal,
        correlation_id: uuid.UUID,
        actor: Actor,
        request_id: uuid.UUID | None = None,
    ) -> None:
        """`changes` and `reason` in clear; recorded sealed where personal (and the new
        age when the date of birth changes). `request_id`: the applicant's request under
        the privacy policy that this amendment answers, if any."""
        self._check_not_erased()
        if self.details is None:
            raise RuleViolation(
                "applicant_id", "only registered details can be amended", conflict=True
            )
        require(len(changes) > 0, "changes", "name at least one detail to change")
        for name in changes:
            require(name in AMENDABLE_FIELDS, f"changes.{name}", "this detail cannot be amended")
        require(len(reason.strip()) > 0, "reason", "say why the details change")
        # The same checks as at registration: an amendment cannot make the record untrue.
        check_plausible(changes, self.cohort_id, at.date(), prefix="changes.")
        age = (
            _age_from(age_reference_date, changes["date_of_birth"], "changes.date_of_birth")
            if "date_of_birth" in changes
            else None
        )
        # The previous values as recorded (the personal ones sealed already).
        previous = {name: self.details.get(name) for name in changes}
        self._details_amended(
            cohort_id=self.cohort_id,
            changes=_sealed(changes, seal),
            previous=previous,
            reason=seal(reason.strip()),
            amended_by=amended_by,
            amended_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
            age_on_reference_date=age,
            request_id=request_id,
        )

    @event("DetailsAmended")
    def _details_amended(
        self,
        cohort_id: str,
        changes: dict[str, Any],
        previous: dict[str, Any],
        reason: str,
        amended_by: str,
        amended_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        age_on_reference_date: int | None = None,
        request_id: uuid.UUID | None = None,
    ) -> None:
        assert self.details is not None
        self.details = {**self.details, **changes}
        self.amendments.append({"fields": sorted(changes), "reason": reason, "at": amended_at})

    # -- the rights of the privacy policy ----------------------------------------------
    @event("PrivacyRequestNoted")
    def note_privacy_request(self, request_id: uuid.UUID, right: str, actor: Actor) -> None:
        """A request under the privacy policy concerns this applicant (the request is
        its own record; this lets a disclosure find it)."""
        self.privacy_requests.append(request_id)

    def restrict(
        self,
        use_suspended: bool,
        third_party_provision_stopped: bool,
        request_id: uuid.UUID,
        correlation_id: uuid.UUID,
        actor: Actor,
    ) -> bool:
        """Suspend or resume the use of the applicant's data, or its provision to third
        parties; False (nothing recorded) when the flags already stand so."""
        self._check_not_erased()
        if (use_suspended, third_party_provision_stopped) == (
            self.use_suspended,
            self.third_party_provision_stopped,
        ):
            return False
        self._processing_restricted(
            use_suspended=use_suspended,
            third_party_provision_stopped=third_party_provision_stopped,
            request_id=request_id,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )
        return True

    @event("ProcessingRestricted")
    def _processing_restricted(
        self,
        use_suspended: bool,
        third_party_provision_stopped: bool,
        request_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.use_suspended = use_suspended
        self.third_party_provision_stopped = third_party_provision_stopped

    def erase(
        self, request_id: uuid.UUID, at: datetime, correlation_id: uuid.UUID, actor: Actor
    ) -> None:
        """Records that the applicant's key was destroyed: every sealed value of theirs
        now reads as erased; the application can no longer act or be acted on."""
        self._check_not_erased()
        self._erased(
            request_id=request_id,
            erased_at=at,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
        )

    @event("Erased")
    def _erased(
        self,
        request_id: uuid.UUID,
        erased_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.erased = True

    @property
    def stage(self) -> str:
        if self.erased:
            return "erased"
        if self.details is None:
            return "preregistered"
        if self.outstanding_documents():
            return "registered"
        return "documents_complete"
