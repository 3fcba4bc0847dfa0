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


def test_passing_the_second_interview_explains_matching_with_companies():
    mail = render("interview_passed", {**CONTEXTS["interview_passed"], "stage": "second"})
    assert mail.subject == "JIP FY2025: you passed the second interview"
    assert "candidate" in mail.body and "company makes the final decision" in mail.body


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
