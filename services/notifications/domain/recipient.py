"""A recipient: an applicant the office writes to, known by their applicant id (or the
sender of an inquiry, known by the inquiry's id, when their processing is restricted),
or a host company, known by its company id, written to at its first contact.

Each is written to in their own language (`en` or `ja`): an applicant's as chosen at
registration (and amended by the office), a company's as its first contact's.

The address and names are kept as they arrive: sealed with the person's key. They are
opened only at the moment a message is written, and read as erased once the person is.

Events reach this service from several topics, in no agreed order: screening may
report an interview before registration's `ApplicantRegistered` has been read. So a
recipient can exist before their address is known; messages owed to them meanwhile
wait here and are released, all at once, when the registration arrives.
"""

from __future__ import annotations

import uuid
from typing import Any, Final, Literal

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import require

Language = Literal["en", "ja"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "ja")
#: Applicants who registered before the language was asked are written to in English.
DEFAULT_LANGUAGE: Final[Language] = "en"


class Recipient(Aggregate):
    """One per applicant (its id is the applicant id). Keeps the address and name to
    write to (sealed), the list of every notification requested for the applicant,
    which is also how the office looks them up, and the person's restrictions: while
    their use is suspended nothing is sent to them; once erased, nothing ever is."""

    @staticmethod
    def create_id(applicant_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return applicant_id

    @event("Opened")
    def __init__(
        self,
        applicant_id: uuid.UUID,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.applicant_id = applicant_id
        self.email: str | None = None
        self.given_name: str | None = None
        self.family_name: str | None = None
        #: The language the person is written to in.
        self.language: Language = DEFAULT_LANGUAGE
        #: A host company's contacts (sealed with the company's key) and its name; None
        #: for an applicant or an inquiry's sender.
        self.contacts: str | None = None
        self.company_name: str | None = None
        #: The office corrected the address (after a refused message): it is kept over
        #: the one a registration read again brings (for a company, over its first
        #: contact's, until the company registers new contacts).
        self.address_amended = False
        #: Every notification requested for this applicant: {"id": ..., "template": ...}.
        self.notifications: list[dict[str, Any]] = []
        #: Notifications requested before the address was known, not yet released.
        self.awaiting: list[uuid.UUID] = []
        #: The person asked that their data not be used (no mail until resumed).
        self.use_suspended = False
        #: The person was erased: their key is destroyed, what was kept of them dropped.
        self.erased = False

    @property
    def known(self) -> bool:
        """True once the registration told us where and how to write."""
        return self.email is not None or self.contacts is not None

    @property
    def is_company(self) -> bool:
        return self.contacts is not None

    def has_requested(self, template: str) -> bool:
        return any(n["template"] == template for n in self.notifications)

    # -- identity ----------------------------------------------------------------------
    def identify(
        self,
        email: str,
        given_name: str,
        family_name: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        language: Language = DEFAULT_LANGUAGE,
    ) -> list[uuid.UUID]:
        """Record the address and name (sealed) and the language from the applicant's
        registration. Returns the notifications that were waiting for them (now to be
        sent). Identifying again with the same details, or after the erasure, records
        nothing."""
        if self.erased:
            return []
        if self.address_amended and self.email is not None:
            email = self.email  # the office's correction stands
        if (self.email, self.given_name, self.family_name, self.language) == (
            email,
            given_name,
            family_name,
            language,
        ):
            return []
        released = list(self.awaiting)
        self._identified(
            email=email,
            given_name=given_name,
            family_name=family_name,
            released=released,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
            language=language,
        )
        return released

    @event("Identified")
    def _identified(
        self,
        email: str,
        given_name: str,
        family_name: str,
        released: list[uuid.UUID],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        # Absent from events recorded before the language was asked.
        language: Language = DEFAULT_LANGUAGE,
    ) -> None:
        self.email = email
        self.given_name = given_name
        self.family_name = family_name
        self.language = language
        self.awaiting = [n for n in self.awaiting if n not in released]

    def identify_company(
        self,
        contacts: str,
        company_name: str,
        language: Language,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> list[uuid.UUID]:
        """Record a host company's contacts (sealed), name and language from its
        registration; returns the notifications that were waiting for them."""
        if self.erased:
            return []
        if (self.contacts, self.company_name, self.language) == (
            contacts,
            company_name,
            language,
        ):
            return []
        released = list(self.awaiting)
        self._company_identified(
            contacts=contacts,
            company_name=company_name,
            language=language,
            released=released,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return released

    @event("CompanyIdentified")
    def _company_identified(
        self,
        contacts: str,
        company_name: str,
        language: Language,
        released: list[uuid.UUID],
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        if contacts != self.contacts and self.address_amended:
            # New contacts from the company itself replace the office's correction.
            self.email, self.address_amended = None, False
        self.contacts = contacts
        self.company_name = company_name
        self.language = language
        self.awaiting = [n for n in self.awaiting if n not in released]

    def amend_address(
        self,
        email: str,
        reason: str,
        amended_by: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        """The office corrects the address to write to (sealed, as is `reason`), e.g.
        after the mail server refused a message; the office may then have it resent."""
        require(not self.erased, "recipient_id", "this person's data was erased", conflict=True)
        require(
            self.known,
            "recipient_id",
            "no address is known yet for this recipient: it comes with the registration",
            conflict=True,
        )
        self._address_amended(
            email=email,
            reason=reason,
            amended_by=amended_by,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )

    @event("AddressAmended")
    def _address_amended(
        self,
        email: str,
        reason: str,
        amended_by: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.email = email
        self.address_amended = True

    def prefer_language(
        self,
        language: Language,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """The office amended the language the applicant is written to in; returns
        whether that changed anything."""
        if self.erased or language == self.language:
            return False
        self._language_changed(
            language=language,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return True

    @event("LanguageChanged")
    def _language_changed(
        self,
        language: Language,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.language = language

    def rename(
        self,
        given_name: str | None,
        family_name: str | None,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """The office amended the applicant's name: later messages use the new one.
        Returns False (and records nothing) when nothing changes or the recipient is
        not identified yet (the registration will bring the current name)."""
        if self.erased or self.given_name is None or self.family_name is None:
            return False
        new_given = given_name or self.given_name
        new_family = family_name or self.family_name
        if (new_given, new_family) == (self.given_name, self.family_name):
            return False
        self._renamed(
            given_name=new_given,
            family_name=new_family,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return True

    @event("Renamed")
    def _renamed(
        self,
        given_name: str,
        family_name: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.given_name = given_name
        self.family_name = family_name

    # -- notifications owed ------------------------------------------------------------
    def note_notification(
        self,
        notification_id: uuid.UUID,
        template: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        *,
        addressed_by_cause: bool = False,
    ) -> None:
        """A notification was requested for this person; until the recipient is known
        it waits to be released by `identify` (unless its cause gave the address)."""
        self._notification_requested(
            notification_id=notification_id,
            template=template,
            awaiting=not self.known and not addressed_by_cause,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )

    @event("NotificationRequested")
    def _notification_requested(
        self,
        notification_id: uuid.UUID,
        template: str,
        awaiting: bool,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.notifications.append({"id": notification_id, "template": template})
        if awaiting:
            self.awaiting.append(notification_id)

    # -- the person's rights -----------------------------------------------------------
    def restrict(
        self,
        use_suspended: bool,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """The person's use was suspended (True) or resumed (False). Returns whether
        that changed anything."""
        if use_suspended == self.use_suspended or self.erased:
            return False
        self._restricted(
            use_suspended=use_suspended,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        return True

    @event("Restricted")
    def _restricted(
        self,
        use_suspended: bool,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.use_suspended = use_suspended

    def forget(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> bool:
        """The person was erased: the address and names are dropped from the state (the
        sealed copies in earlier events can no longer be opened). Returns whether this
        is news."""
        if self.erased:
            return False
        self._forgotten(correlation_id=correlation_id, causation_id=causation_id, actor=actor)
        return True

    @event("Forgotten")
    def _forgotten(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        self.email = self.given_name = self.family_name = self.contacts = None
        self.awaiting = []
        self.erased = True
