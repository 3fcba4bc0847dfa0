"""The e-mails as applicants and companies read them, in English and in Japanese:
courteous, telling them what comes next, each with a plain-text and an HTML part."""

import email
import re

import jinja2
import pytest
from jinja2 import meta

from runtime.mail import SmtpMailer
from services.notifications.adapters.mail import (
    RULE_WORDS,
    TEMPLATES_DIR,
    _templates,
    render,
    template_names,
)

LANGUAGES = ("en", "ja")
APPLICANT = {
    "addressee": "applicant",
    "given_name": "Linh",
    "family_name": "Nguyen",
    "cohort_id": "FY2025",
}
COMPANY = {
    "addressee": "company",
    "contact_name": "Sato Hanako",
    "company_name": "Kobe Precision KK",
    "cohort_id": "FY2025",
}
INTERVIEW = {
    "stage": "first",
    "scheduled_at": "2025-06-19T01:00:00+00:00",
    "duration_minutes": 30,
    "language": "local",
    "mode": "online",
    "joining_instructions": "Video call: the link arrives by e-mail the day before.",
}
PROPOSAL = {
    "course": "B",
    "candidate": "3f1e8c1a-5b7d-4e0a-9a2b-1c3d5e7f9a0b",
    "decide_by": "2025-09-01T08:00:00+00:00",
    "proposal_id": "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
}

#: Every message with every variable it uses (as the policy records them).
CONTEXTS = {
    "application_received": {**APPLICANT, "education_status": "enrolled"},
    "eligibility_passed": APPLICANT,
    "documents_complete": APPLICANT,
    "interview_passed": {
        **APPLICANT,
        "stage": "first",
        "language": "english",
        "interviewed_on": "2025-07-10",
    },
    "interview_failed": {**APPLICANT, "stage": "second"},
    "match_proposed": {**APPLICANT, "course": "B", "decide_by": "2025-09-01T08:00:00+00:00"},
    "match_confirmed": {**APPLICANT, "course": "B", "confirmed_on": "2025-08-20"},
    "agreement_ready": {**APPLICANT, "course": "B"},
    "agreement_signed": {**APPLICANT, "signed_on": "2025-09-10", "structure": "three_way"},
    "inquiry_answer": {
        "addressee": "inquirer",
        "inquiry_id": "9f0a1b2c",
        "answer": "Yes, students may apply.",
    },
    "applicant_rejected": {
        **APPLICANT,
        "stage": "eligibility",
        "reasons": [
            {"code": "nationality_not_excluded", "text": "citizens of CN are not eligible"},
            {"code": "age_within_cohort_range", "text": "older than 40 on 2025-08-25"},
        ],
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
    "document_accepted": {
        **APPLICANT,
        "kind": "certificate_of_graduation",
        "outstanding": ["letter_of_recommendation"],
    },
    "interview_scheduled": {**APPLICANT, **INTERVIEW},
    "interview_rescheduled": {
        **APPLICANT,
        **INTERVIEW,
        "stage": "second",
        "scheduled_at": "2025-06-20T23:30:00+00:00",
        "previous_scheduled_at": "2025-06-19T01:00:00+00:00",
        "reason": "the applicant asked for another day",
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
    "details_amended": {**APPLICANT, "changed_fields": ["family_name", "language"]},
    "privacy_request_answered": {
        **APPLICANT,
        "right": "disclosure",
        "outcome": "done",
        "outcome_reason": None,
    },
    "company_registered": {**COMPANY, "capacity": 2, "courses": ["A", "B"]},
    "company_refused": {
        **COMPANY,
        "reasons": [{"code": "not_an_sme", "text": "capital above the limit"}],
    },
    "candidates_proposed": {**COMPANY, **PROPOSAL},
    "decision_reminder": {**COMPANY, **PROPOSAL},
    "match_confirmed_company": {
        **COMPANY,
        "course": "B",
        "candidate": PROPOSAL["candidate"],
        "confirmed_on": "2025-08-20",
    },
    "agreement_ready_company": {**COMPANY, "course": "B", "candidate": PROPOSAL["candidate"]},
    "agreement_signed_company": {
        **COMPANY,
        "candidate": PROPOSAL["candidate"],
        "signed_on": "2025-09-10",
        "structure": "per_pair",
    },
}


#: The names the layouts greet each kind of reader with.
GREETED_BY = {
    "applicant": {"given_name", "family_name"},
    "company": {"contact_name", "company_name"},
    "inquirer": set(),
}


def variables_of(name: str, languages: tuple[str, ...] = LANGUAGES) -> set[str]:
    """Every variable a message and its layouts use, read from their sources."""
    used: set[str] = set()
    for source in (f"{name}.j2", "_layout.txt.j2", "_layout.html.j2"):
        for lang in languages:
            text = (TEMPLATES_DIR / lang / source).read_text()
            used |= meta.find_undeclared_variables(_templates.parse(text))
    return used - {"lang", "part"}


#: Variables only a branch not taken with the test's context reads.
OPTIONAL = {
    "privacy_request_answered": set(),
}


def test_every_message_exists_in_both_languages():
    english = template_names()
    japanese = {p.name.removesuffix(".j2") for p in (TEMPLATES_DIR / "ja").glob("[!_]*.j2")}
    assert english == japanese == set(CONTEXTS)


@pytest.mark.parametrize("template", sorted(CONTEXTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders_both_parts_with_every_variable_it_uses(template, language):
    # The test's context names every variable the sources use (the names of the other
    # kinds of reader apart, which only their greetings use).
    context = CONTEXTS[template]
    others = set().union(*GREETED_BY.values()) - GREETED_BY[context["addressee"]]
    assert variables_of(template) - others <= set(context), template
    mail = render(template, language, CONTEXTS[template])
    assert mail.subject and "\n" not in mail.subject
    assert "{{" not in mail.body + mail.html and "{%" not in mail.body + mail.html
    assert mail.html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in mail.html
    signature = (
        "JIP Program Office" if language == "en" else "JIP（日本インターンシッププログラム）事務局"
    )
    assert mail.body.rstrip().endswith(signature)
    assert signature in mail.html


@pytest.mark.parametrize("template", sorted(CONTEXTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_missing_variable_is_an_error_not_a_blank(template, language):
    for variable in sorted(variables_of(template, (language,)) & set(CONTEXTS[template])):
        context = {k: v for k, v in CONTEXTS[template].items() if k != variable}
        try:
            render(template, language, context)
        except jinja2.UndefinedError:
            continue
        # Only a value that a branch not taken for this context uses may be absent.
        assert variable in OPTIONAL.get(template, set()), (
            f"{template} ({language}) renders without {variable}"
        )


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_subjects_carry_no_personal_data(template):
    for language in LANGUAGES:
        subject = render(template, language, CONTEXTS[template]).subject
        for personal in ("Linh", "Nguyen", "Sato", "Yes, students", "professor"):
            assert personal not in subject


def test_each_reader_is_greeted_by_name_in_their_language():
    assert render("documents_complete", "en", APPLICANT).body.startswith("Dear Linh Nguyen,")
    assert render("documents_complete", "ja", APPLICANT).body.startswith("Linh Nguyen 様")
    company = render("company_registered", "ja", CONTEXTS["company_registered"])
    assert company.body.startswith("Kobe Precision KK\nSato Hanako 様")
    assert render("inquiry_answer", "en", CONTEXTS["inquiry_answer"]).body.startswith("Hello,")


def test_the_html_part_escapes_what_people_wrote():
    context = {**CONTEXTS["inquiry_answer"], "answer": "<script>alert(1)</script> & more"}
    mail = render("inquiry_answer", "en", context)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in mail.html
    # The plain-text part shows it as written.
    assert "<script>alert(1)</script> & more" in mail.body


def test_the_welcome_names_the_documents_a_student_must_upload():
    mail = render("application_received", "en", CONTEXTS["application_received"])
    assert mail.subject == "JIP FY2025: we have received your application"
    assert "certificate of enrollment" in mail.body
    assert "certificate of graduation" not in mail.body
    graduate = render("application_received", "ja", {**APPLICANT, "education_status": "graduated"})
    assert "卒業証明書" in graduate.body and "在学証明書" not in graduate.body
    assert graduate.subject == "JIP FY2025：ご応募を受け付けました"


def test_an_ineligible_applicant_is_told_every_reason_in_plain_words_in_their_language():
    english = render("applicant_rejected", "en", CONTEXTS["applicant_rejected"])
    assert "did not pass\nthe eligibility check" in english.body
    assert "citizens of your country cannot take part in this year's program" in english.body
    assert "outside the age range" in english.body
    assert "assessed\nagain" in english.body
    japanese = render("applicant_rejected", "ja", CONTEXTS["applicant_rejected"])
    assert "応募資格の審査" in japanese.body
    assert "今年度のプログラムには、ご国籍の方はご参加いただけません" in japanese.body
    assert "年齢要件の範囲外" in japanese.body
    # A code no sentence is written for keeps the office's words.
    other = {**CONTEXTS["applicant_rejected"], "stage": "selection"}
    other["reasons"] = [{"code": "places_full", "text": "every place is taken"}]
    assert "every place is taken" in render("applicant_rejected", "en", other).body
    assert "再度審査" not in render("applicant_rejected", "ja", other).body


def test_every_eligibility_rule_has_words_in_both_languages():
    from services.screening.domain.eligibility import RULE_IDS  # the rule ids it publishes

    for language in LANGUAGES:
        assert set(RULE_IDS) <= set(RULE_WORDS[language])


def test_an_invitation_gives_the_time_in_utc_and_in_japan_and_how_to_join():
    mail = render("interview_scheduled", "en", CONTEXTS["interview_scheduled"])
    assert mail.subject == "JIP FY2025: your first interview on Thursday 19 June 2025, 01:00 UTC"
    assert "Thursday 19 June 2025, 10:00 JST" in mail.body
    assert "your local language" in mail.body and "online (video call)" in mail.body
    japanese = render("interview_scheduled", "ja", CONTEXTS["interview_scheduled"])
    assert "2025年6月19日（木）10:00（日本時間）" in japanese.body
    assert "一次面接" in japanese.subject and "オンライン（ビデオ通話）" in japanese.body


def test_a_new_time_crosses_midnight_in_japan():
    mail = render("interview_rescheduled", "en", CONTEXTS["interview_rescheduled"])
    assert "Saturday 21 June 2025, 08:30 JST" in mail.body
    assert "Joining" not in mail.body and "in person" in mail.body
    japanese = render("interview_rescheduled", "ja", CONTEXTS["interview_rescheduled"])
    assert "2025年6月21日（土）08:30（日本時間）" in japanese.body


def test_a_company_is_asked_to_decide_by_the_deadline_and_reminded():
    asked = render("candidates_proposed", "ja", CONTEXTS["candidates_proposed"])
    assert "2025年9月1日（月）17:00（日本時間）までに" in asked.body
    assert PROPOSAL["candidate"] in asked.body
    reminder = render("decision_reminder", "en", CONTEXTS["decision_reminder"])
    assert "Monday 01 September 2025, 08:00 UTC" in reminder.body
    assert "already decided, please disregard" in reminder.body


def test_a_refused_company_is_told_why():
    mail = render("company_refused", "en", CONTEXTS["company_refused"])
    assert "Kobe Precision KK" in mail.body and "small or medium-sized" in mail.body
    japanese = render("company_refused", "ja", CONTEXTS["company_refused"])
    assert "中小企業" in japanese.body


def test_a_multipart_message_carries_both_parts_a_deterministic_id_and_no_auto_replies():
    mailer = SmtpMailer("127.0.0.1", 25, "JIP Program Office <office@jip.example>")
    mail = render("documents_complete", "ja", APPLICANT)
    message = mailer.compose(
        "linh@example.org", mail.subject, mail.body, "<abc.1@jip.example>", html=mail.html
    )
    assert message["Message-ID"] == "<abc.1@jip.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    read = email.message_from_bytes(message.as_bytes())
    assert read.get_content_type() == "multipart/alternative"
    text, html = read.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_payload(decode=True).decode() == mail.body
    assert html.get_payload(decode=True).decode() == mail.html
    subject = str(email.header.make_header(email.header.decode_header(read["Subject"])))
    assert subject == "JIP FY2025：提出書類が揃いました"
    assert not re.search(r"Linh|Nguyen", read["Subject"])
