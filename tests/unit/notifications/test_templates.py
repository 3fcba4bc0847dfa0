"""The e-mails as applicants read them: courteous, telling them what comes next."""

import pytest

from runtime.mail import SmtpMailer
from services.notifications.adapters.mail import SUBJECTS, TEMPLATES_DIR, render

APPLICANT = {"given_name": "Linh", "family_name": "Nguyen", "cohort_id": "FY2025"}

CONTEXTS = {
    "application_received": {**APPLICANT, "education_status": "enrolled"},
    "documents_complete": APPLICANT,
    "interview_passed": {
        **APPLICANT,
        "stage": "first",
        "language": "english",
        "interviewed_on": "2025-07-10",
    },
    "interview_failed": {**APPLICANT, "stage": "second"},
    "match_confirmed": {**APPLICANT, "course": "B", "confirmed_on": "2025-08-20"},
    "inquiry_answer": {"inquiry_id": "9f0a1b2c", "answer": "Yes, students may apply."},
    "applicant_rejected": {
        **APPLICANT,
        "stage": "eligibility",
        "reasons": ["citizens of CN are not eligible in FY2025", "older than 40 on 2025-08-25"],
        "note": None,
    },
    "document_requested": {
        **APPLICANT,
        "kind": "letter_of_recommendation",
        "reason_code": "requested_by_office",
        "due_by": "2025-06-15",
        "note": "Your professor may send it to us directly.",
    },
    "document_rejected": {
        **APPLICANT,
        "kind": "certificate_of_graduation",
        "reason_code": "unreadable",
        "note": None,
    },
    "interview_scheduled": {
        **APPLICANT,
        "stage": "first",
        "scheduled_at": "2025-06-19T01:00:00+00:00",
        "duration_minutes": 30,
        "language": "local",
        "mode": "online",
        "joining_instructions": "Video call: the link arrives by e-mail the day before.",
    },
    "interview_rescheduled": {
        **APPLICANT,
        "stage": "second",
        "scheduled_at": "2025-06-20T23:30:00+00:00",
        "previous_scheduled_at": "2025-06-19T01:00:00+00:00",
        "reason": "the applicant asked for another day",
        "duration_minutes": 45,
        "language": "japanese",
        "mode": "in_person",
        "joining_instructions": None,
    },
    "interview_cancelled": {
        **APPLICANT,
        "stage": "first",
        "reason": "the interviewer is unavailable",
    },
    "candidate_selected": {**APPLICANT, "course_preferences": ["A", "C"]},
}


def test_every_template_has_a_subject_and_a_body():
    bodies = {p.name.removesuffix(".txt.j2") for p in TEMPLATES_DIR.glob("*.txt.j2")}
    assert bodies == set(SUBJECTS) == set(CONTEXTS)


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_a_message_greets_its_reader_and_signs_as_the_office(template):
    mail = render(template, CONTEXTS[template])
    greeting = "Dear Linh Nguyen," if "given_name" in CONTEXTS[template] else "Hello,"
    assert mail.body.startswith(greeting)
    assert mail.body.rstrip().endswith("JIP Program Office")
    assert "{{" not in mail.body and "{%" not in mail.body
    assert "\n" not in mail.subject


def test_the_welcome_names_the_documents_a_student_must_upload():
    mail = render("application_received", CONTEXTS["application_received"])
    assert mail.subject == "JIP FY2025: we have received your application"
    assert "upload your documents" in mail.body
    assert "certificate of enrollment" in mail.body
    assert "certificate of graduation" not in mail.body
    graduate = render("application_received", {**APPLICANT, "education_status": "graduated"})
    assert "certificate of graduation" in graduate.body


def test_passing_the_first_interview_announces_the_second():
    mail = render("interview_passed", CONTEXTS["interview_passed"])
    assert mail.subject == "JIP FY2025: you passed the first interview"
    assert "second interview" in mail.body and "held on 2025-07-10" in mail.body


def test_passing_the_second_interview_announces_the_offices_selection():
    mail = render("interview_passed", {**CONTEXTS["interview_passed"], "stage": "second"})
    assert mail.subject == "JIP FY2025: you passed the second interview"
    assert "final selection" in mail.body
    # Passing is not being selected: no promise of a company yet.
    assert "company" not in mail.body


def test_the_selection_explains_matching_with_companies():
    mail = render("candidate_selected", CONTEXTS["candidate_selected"])
    assert mail.subject == "JIP FY2025: you have been selected"
    assert "courses\nA, C" in mail.body or "courses A, C" in mail.body
    assert "company makes the final decision" in mail.body


def test_an_ineligible_applicant_is_told_every_reason_in_plain_words():
    mail = render("applicant_rejected", CONTEXTS["applicant_rejected"])
    assert mail.subject == "JIP FY2025: the outcome of your application"
    assert "did not pass\nthe eligibility check" in mail.body or (
        "did not pass the eligibility check" in mail.body
    )
    assert "  - citizens of CN are not eligible in FY2025\n" in mail.body
    assert "  - older than 40 on 2025-08-25\n" in mail.body
    assert "assessed\nagain" in mail.body or "assessed again" in mail.body
    at_selection = render(
        "applicant_rejected",
        {**CONTEXTS["applicant_rejected"], "stage": "selection", "note": "Places are few."},
    )
    assert "the final selection" in at_selection.body and "Places are few." in at_selection.body
    assert "assessed" not in at_selection.body


def test_a_document_request_and_a_rejection_say_which_and_why_in_words():
    asked = render("document_requested", CONTEXTS["document_requested"])
    assert asked.subject == "JIP FY2025: please send your letter of recommendation"
    assert "the office needs it to review your application" in asked.body
    assert "by 2025-06-15" in asked.body and "may send it to us directly" in asked.body
    refused = render("document_rejected", CONTEXTS["document_rejected"])
    assert refused.subject == "JIP FY2025: your certificate of graduation could not be accepted"
    assert "we could not read it" in refused.body and "unreadable" not in refused.body


def test_an_invitation_gives_the_time_in_utc_and_in_japan_and_how_to_join():
    mail = render("interview_scheduled", CONTEXTS["interview_scheduled"])
    assert mail.subject == ("JIP FY2025: your first interview on Thursday 19 June 2025, 01:00 UTC")
    assert "Thursday 19 June 2025, 10:00 JST" in mail.body
    assert "your local language" in mail.body and "online (video call)" in mail.body
    assert "the link arrives by e-mail the day before" in mail.body
    # The interviewer is staff: their id is not the applicant's business.
    assert "staff-" not in mail.body


def test_a_new_time_crosses_midnight_in_japan_and_says_why_it_moved():
    mail = render("interview_rescheduled", CONTEXTS["interview_rescheduled"])
    assert "Friday 20 June 2025, 23:30 UTC" in mail.body
    assert "Saturday 21 June 2025, 08:30 JST" in mail.body
    assert "Thursday 19 June 2025, 01:00 UTC" in mail.body
    assert "the applicant asked for another day" in mail.body
    assert "Joining" not in mail.body and "in person" in mail.body
    cancelled = render("interview_cancelled", CONTEXTS["interview_cancelled"])
    assert "cancelled (the interviewer is unavailable)" in cancelled.body


def test_an_applicant_who_failed_an_interview_is_told_kindly():
    mail = render("interview_failed", CONTEXTS["interview_failed"])
    assert mail.subject == "JIP FY2025: the result of your second interview"
    assert "cannot take your application further" in mail.body
    assert "attend the second interview" in mail.body


def test_a_match_tells_the_course_the_agreement_and_that_withdrawal_ends():
    mail = render("match_confirmed", CONTEXTS["match_confirmed"])
    assert "course B" in mail.body and "agreement" in mail.body
    assert "can no longer withdraw" in mail.body


def test_an_inquiry_answer_quotes_the_answer():
    mail = render("inquiry_answer", CONTEXTS["inquiry_answer"])
    assert "Yes, students may apply." in mail.body and "9f0a1b2c" in mail.body


def test_a_missing_detail_is_an_error_not_a_blank_in_the_message():
    with pytest.raises(Exception, match="family_name"):
        render("documents_complete", {"given_name": "Linh", "cohort_id": "FY2025"})


def test_a_message_carries_a_deterministic_message_id_and_asks_for_no_auto_replies():
    mailer = SmtpMailer("127.0.0.1", 25, "JIP Program Office <office@jip.example>")
    assert mailer.domain == "jip.example"
    mail = render("documents_complete", APPLICANT)
    message = mailer.compose("linh@example.org", mail.subject, mail.body, "<abc.1@jip.example>")
    assert message["Message-ID"] == "<abc.1@jip.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["To"] == "linh@example.org"
    assert message.get_payload(decode=True).decode() == mail.body
