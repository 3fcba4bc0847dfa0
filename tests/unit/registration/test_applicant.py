"""Registration's rules, told as the applicant and the office meet them."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from kernel import actor as acting
from kernel.rules import RuleViolation
from services.registration.domain.applicant import Applicant, EmailClaim, normalise_email
from services.registration.domain.cohort import Cohort
from services.registration.domain.documents import outstanding_documents
from services.registration.domain.inquiry import Inquiry

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

T0 = datetime(2025, 5, 10, 9, 0, tzinfo=UTC)
CID = uuid.uuid4()
REFERENCE = date(2025, 8, 25)
SECRET = b"a-pseudonym-secret-for-tests"


def SEAL(value):
    """A visible stand-in for sealing: what the domain records sealed shows as such."""
    return f"sealed({value})"


def fy2025(**changes):
    spec = dict(
        cohort_id="FY2025",
        applications_open_at=datetime(2025, 5, 1, tzinfo=UTC),
        applications_close_at=datetime(2025, 7, 1, tzinfo=UTC),
        age_reference_date=date(2025, 8, 25),
        min_age=18,
        max_age=40,
        results_by=date(2025, 8, 31),
        courses=[{"code": "A", "mode": "in_person"}, {"code": "B", "mode": "online"}],
        rules={"excluded_nationalities": ["CN"]},
        opened_by="staff",
        correlation_id=CID,
        causation_id=None,
        actor=ACTOR,
    )
    spec.update(changes)
    return Cohort.open(**spec)


def details(status="graduated", courses=("B",), consent=True):
    return {
        "given_name": "Linh",
        "family_name": "Nguyen",
        "date_of_birth": "2000-08-26",
        "education": {"status": status},
        "course_preferences": list(courses),
        "privacy_policy_consent": consent,
    }


def preregistered() -> Applicant:
    applicant = Applicant(
        applicant_id=uuid.uuid4(),
        cohort_id="FY2025",
        email=SEAL("linh@example.org"),
        preregistered_at=T0,
        correlation_id=CID,
        causation_id=None,
        actor=ACTOR,
    )
    applicant.issue_registration_link(T0, timedelta(days=7), CID, actor=ACTOR)
    return applicant


def test_applications_are_accepted_only_inside_the_cohort_window():
    cohort = fy2025()
    cohort.check_accepts_applications(T0)
    with pytest.raises(RuleViolation) as early:
        cohort.check_accepts_applications(datetime(2025, 4, 30, tzinfo=UTC))
    assert early.value.field == "cohort_id" and "open at" in early.value.reason
    with pytest.raises(RuleViolation) as late:
        cohort.check_accepts_applications(datetime(2025, 7, 1, tzinfo=UTC))
    assert "closed" in late.value.reason and late.value.conflict


def test_a_cohort_with_an_inverted_window_or_age_range_is_refused():
    with pytest.raises(RuleViolation, match="applications_close_at"):
        fy2025(applications_close_at=datetime(2025, 4, 1, tzinfo=UTC))
    with pytest.raises(RuleViolation, match="max_age"):
        fy2025(min_age=41)


def test_the_same_address_in_any_case_or_spacing_claims_the_same_slot():
    assert normalise_email("  Linh@Example.ORG ") == "linh@example.org"
    assert EmailClaim.id_for(SECRET, "FY2025", " Linh@Example.org") == EmailClaim.id_for(
        SECRET, "FY2025", "linh@example.org"
    )
    assert EmailClaim.id_for(SECRET, "FY2025", "linh@example.org") != EmailClaim.id_for(
        SECRET, "FY2026", "linh@example.org"
    )
    # Keyed: without the secret, nobody can derive the claim of an address they guess.
    assert EmailClaim.id_for(SECRET, "FY2025", "linh@example.org") != EmailClaim.id_for(
        b"another-secret-of-the-same-length", "FY2025", "linh@example.org"
    )


def test_a_registration_link_works_once_until_it_expires():
    applicant = preregistered()
    applicant.register(
        1, details(), ["A", "B"], REFERENCE, T0 + timedelta(days=1), SEAL, CID, actor=ACTOR
    )
    assert applicant.stage == "registered"
    with pytest.raises(RuleViolation, match="already used"):
        applicant.register(
            1, details(), ["A", "B"], REFERENCE, T0 + timedelta(days=1), SEAL, CID, actor=ACTOR
        )

    expired = preregistered()
    with pytest.raises(RuleViolation, match="expired"):
        expired.register(
            1, details(), ["A", "B"], REFERENCE, T0 + timedelta(days=8), SEAL, CID, actor=ACTOR
        )


def test_a_new_link_retires_the_old_one():
    applicant = preregistered()
    applicant.issue_registration_link(T0 + timedelta(days=2), timedelta(days=7), CID, actor=ACTOR)
    with pytest.raises(RuleViolation, match="replaced"):
        applicant.register(
            1, details(), ["A", "B"], REFERENCE, T0 + timedelta(days=3), SEAL, CID, actor=ACTOR
        )
    applicant.register(
        2, details(), ["A", "B"], REFERENCE, T0 + timedelta(days=3), SEAL, CID, actor=ACTOR
    )


def test_registration_needs_a_course_of_the_cohort_and_consent():
    applicant = preregistered()
    with pytest.raises(RuleViolation) as course:
        applicant.register(
            1, details(courses=("B", "Z")), ["A", "B"], REFERENCE, T0, SEAL, CID, actor=ACTOR
        )
    assert course.value.field == "course_preferences.1"
    with pytest.raises(RuleViolation, match="privacy_policy_consent"):
        applicant.register(
            1, details(consent=False), ["A", "B"], REFERENCE, T0, SEAL, CID, actor=ACTOR
        )
    assert applicant.details is None


def test_students_owe_an_enrollment_certificate_graduates_a_graduation_certificate():
    assert outstanding_documents("enrolled", set()) == [
        "certificate_of_enrollment",
        "language_score_certificate",
        "letter_of_recommendation",
    ]
    assert outstanding_documents("graduated", {"language_score_certificate"}) == [
        "certificate_of_graduation",
        "letter_of_recommendation",
    ]


def test_documents_come_after_registration_and_complete_the_application():
    applicant = preregistered()
    with pytest.raises(RuleViolation, match="after the full registration"):
        applicant.submit_documents(
            [{"kind": "resume", "sha256": "0", "filename": "cv.pdf"}], T0, SEAL, CID, actor=ACTOR
        )
    applicant.register(1, details(status="enrolled"), ["B"], REFERENCE, T0, SEAL, CID, actor=ACTOR)
    applicant.submit_documents(
        [{"kind": "certificate_of_enrollment", "sha256": "1", "filename": "Linh.pdf"}],
        T0,
        SEAL,
        CID,
        actor=ACTOR,
    )
    assert applicant.outstanding_documents() == [
        "language_score_certificate",
        "letter_of_recommendation",
    ]
    applicant.submit_documents(
        [
            {"kind": "language_score_certificate", "sha256": "2", "filename": "a.png"},
            {"kind": "letter_of_recommendation", "sha256": "3", "filename": "b.pdf"},
        ],
        T0,
        SEAL,
        CID,
        actor=ACTOR,
    )
    assert applicant.stage == "documents_complete"
    last = applicant.pending_events[-1]
    assert isinstance(last, Applicant.DocumentsSubmitted) and last.outstanding == []
    assert [d["filename"] for d in last.documents] == ["sealed(a.png)", "sealed(b.pdf)"]


def test_the_office_amends_details_with_a_reason_and_keeps_the_previous_values():
    applicant = preregistered()
    applicant.register(1, details(), ["B"], REFERENCE, T0, SEAL, CID, actor=ACTOR)
    applicant.amend_details(
        {"family_name": "Tran"},
        "Name changed by marriage",
        "staff-1",
        REFERENCE,
        T0,
        SEAL,
        CID,
        actor=ACTOR,
    )
    assert applicant.details["family_name"] == "sealed(Tran)"
    event = applicant.pending_events[-1]
    assert event.previous == {"family_name": "sealed(Nguyen)"} and event.amended_by == "staff-1"
    assert event.reason == "sealed(Name changed by marriage)"
    assert event.age_on_reference_date is None, "the date of birth did not change"
    with pytest.raises(RuleViolation, match=r"changes\.email"):
        applicant.amend_details(
            {"email": "x@example.org"}, "typo", "staff-1", REFERENCE, T0, SEAL, CID, actor=ACTOR
        )
    with pytest.raises(RuleViolation, match="reason"):
        applicant.amend_details(
            {"family_name": "Le"}, "  ", "staff-1", REFERENCE, T0, SEAL, CID, actor=ACTOR
        )


def inquiry(**changes):
    form = dict(
        inquiry_id=Inquiry.id_for(
            SECRET,
            changes.get("email", "budi@example.org"),
            "other",
            changes.get("text", "Can I apply?"),
        ),
        seal=SEAL,
        consent=True,
        name="Budi",
        email="budi@example.org",
        country="ID",
        phone=None,
        sender_kind="individual",
        inquiry_type="other",
        text="Can I apply?",
        received_at=T0,
        correlation_id=CID,
        causation_id=None,
        actor=ACTOR,
    )
    form.update(changes)
    return Inquiry.receive(**form)


def test_an_inquiry_accepts_latin_and_japanese_script_up_to_1024_bytes_as_the_form_counts():
    assert (
        inquiry(text="日本語で質問します。Is that OK?").text
        == "sealed(日本語で質問します。Is that OK?)"
    )
    # The form promises "1024 bytes or less / 512 full-width characters": a full-width
    # character counts two, any other one.
    assert inquiry(text="あ" * 512).text
    assert inquiry(text="a" * 1024).text
    assert inquiry(text="あ" * 511 + "ab").text
    with pytest.raises(RuleViolation, match="1024 bytes"):
        inquiry(text="あ" * 513)
    with pytest.raises(RuleViolation, match="1024 bytes"):
        inquiry(text="あ" * 512 + "a")
    # Vietnamese written in Latin letters with its diacritics is Latin script.
    assert inquiry(name="Nguyễn Thị Ánh", text="Tôi có thể nộp đơn không?").name
    with pytest.raises(RuleViolation) as cyrillic:
        inquiry(text="Привет")
    assert cyrillic.value.field == "text" and "Latin and Japanese" in cyrillic.value.reason
    with pytest.raises(RuleViolation, match="privacy_policy_consent"):
        inquiry(consent=False)


def test_the_same_inquiry_sent_twice_is_one_inquiry():
    assert inquiry().id == inquiry().id
    assert inquiry().id != inquiry(text="Another question").id


def test_an_inquiry_is_answered_once():
    received = inquiry()
    received.answer_with("Yes.", "staff-1", T0, SEAL, CID, actor=ACTOR)
    with pytest.raises(RuleViolation, match="already answered"):
        received.answer_with("Yes again.", "staff-1", T0, SEAL, CID, actor=ACTOR)


def test_registration_records_the_personal_details_sealed_and_the_age_on_the_reference_date():
    applicant = preregistered()
    applicant.register(1, details(), ["B"], REFERENCE, T0, SEAL, CID, actor=ACTOR)
    event = applicant.pending_events[-1]
    assert isinstance(event, Applicant.Registered)
    assert event.details["given_name"] == "sealed(Linh)"
    assert event.details["date_of_birth"] == "sealed(2000-08-26)"
    assert event.email == "sealed(linh@example.org)"
    # Born 2000-08-26: the day after the reference date 2025-08-25, still 24.
    assert event.age_on_reference_date == 24
    assert event.details["education"] == {"status": "graduated"}, "not personal: as given"


def test_an_amended_date_of_birth_records_the_new_age():
    applicant = preregistered()
    applicant.register(1, details(), ["B"], REFERENCE, T0, SEAL, CID, actor=ACTOR)
    applicant.amend_details(
        {"date_of_birth": "2000-08-25"}, "Passport", "staff-1", REFERENCE, T0, SEAL, CID, ACTOR
    )
    assert applicant.pending_events[-1].age_on_reference_date == 25


def test_an_erased_application_can_no_longer_be_acted_on():
    applicant = preregistered()
    applicant.register(1, details(status="enrolled"), ["B"], REFERENCE, T0, SEAL, CID, ACTOR)
    applicant.restrict(True, False, uuid.uuid4(), CID, ACTOR)
    assert applicant.use_suspended
    assert applicant.restrict(True, False, uuid.uuid4(), CID, ACTOR) is False, "already so"
    applicant.erase(uuid.uuid4(), T0, CID, ACTOR)
    assert applicant.stage == "erased"
    for act in (
        lambda: applicant.submit_documents(
            [{"kind": "resume", "sha256": "0", "filename": "cv.pdf"}], T0, SEAL, CID, ACTOR
        ),
        lambda: applicant.amend_details(
            {"family_name": "Le"}, "why", "staff-1", REFERENCE, T0, SEAL, CID, ACTOR
        ),
        lambda: applicant.restrict(False, False, uuid.uuid4(), CID, ACTOR),
        lambda: applicant.erase(uuid.uuid4(), T0, CID, ACTOR),
    ):
        with pytest.raises(RuleViolation, match="erased"):
            act()


def test_the_domain_knows_the_same_rights_and_subjects_as_the_contract():
    # The domain keeps its own words (it may not import the contract); a right added to
    # one and not the other would be refused by the relay or never offered.
    from typing import get_args

    from events.registration import PrivacyRight, SubjectKind
    from services.registration.domain import privacy

    assert get_args(privacy.Right) == get_args(PrivacyRight)
    assert get_args(privacy.SubjectKind) == get_args(SubjectKind)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date_of_birth": "2040-01-01"}, "date_of_birth"),
        (
            {"education": {"status": "enrolled", "graduation_date": "2045-06-30"}},
            "education.graduation_date",
        ),
        ({"previous_participation_years": [2099]}, "previous_participation_years.0"),
        ({"previous_participation_years": [2016, 2025]}, "previous_participation_years.1"),
    ],
)
def test_what_cannot_be_true_is_refused_naming_the_field(change, field):
    applicant = preregistered()
    with pytest.raises(RuleViolation) as refused:
        applicant.register(1, {**details(), **change}, ["B"], REFERENCE, T0, SEAL, CID, actor=ACTOR)
    assert refused.value.field == field
    # An earlier participation and a graduation within ten years are believed.
    plausible = {
        **details(),
        "education": {"status": "enrolled", "graduation_date": "2027-03-31"},
        "previous_participation_years": [2015],
    }
    applicant.register(1, plausible, ["B"], REFERENCE, T0, SEAL, CID, actor=ACTOR)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date_of_birth": "2040-01-01"}, "changes.date_of_birth"),
        (
            {"education": {"status": "enrolled", "graduation_date": "2060-06-30"}},
            "changes.education.graduation_date",
        ),
    ],
)
def test_an_amendment_is_checked_for_plausibility_as_registration_is(changes, field):
    applicant = preregistered()
    applicant.register(1, details(), ["B"], REFERENCE, T0, SEAL, CID, actor=ACTOR)
    applicant.collect_events()
    with pytest.raises(RuleViolation) as refused:
        applicant.amend_details(changes, "asked", "staff-1", REFERENCE, T0, SEAL, CID, ACTOR)
    assert refused.value.field == field
    assert applicant.collect_events() == [], "nothing recorded"


def test_the_language_to_be_written_in_is_chosen_at_registration_and_may_be_amended():
    applicant = preregistered()
    applicant.register(1, {**details(), "language": "ja"}, ["B"], REFERENCE, T0, SEAL, CID, ACTOR)
    # recorded as given (not personal data: not sealed), published as `language`
    assert applicant.details["language"] == "ja"
    # the office may amend it, like the other details
    applicant.amend_details(
        {"language": "en"}, "asked by phone", "staff-1", REFERENCE, T0, SEAL, CID, actor=ACTOR
    )
    assert applicant.pending_events[-1].changes == {"language": "en"}
    assert applicant.details["language"] == "en"
