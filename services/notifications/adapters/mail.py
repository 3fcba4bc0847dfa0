"""E-mail: the templates, and the mailer that follows this service's own log and sends
every notification that became sendable, through the runtime's one SMTP mailer.

Each sending's outcome is recorded on its notification (`Sent`, `Deferred` with its
retry time, or `Refused`) before the next message is sent, so a crash sends at most
the one message in flight twice, with the same Message-ID (derived from the
notification id and its send number). A deferred message is retried on its own
schedule and holds back only the later messages of the same person; a refused one is
listed for the office (`GET /mail/undeliverable`) and may be resent; the others go on.
One person's messages go out in the order of their path (`domain/path.py`).

Addresses, names and message bodies are personal data: they are never logged, and never
stored in clear. They are kept sealed and opened (through the key store) only here, to
write the message being sent; the rendered body exists only in memory while it is sent.
A message to a person whose use is suspended is recorded as withheld; to an erased
person, as cancelled: either way the mailer moves on to the next.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context, Undefined
from markupsafe import Markup, escape

from runtime.mail import (
    Delivery,
    Later,
    MailFollower,
    RetrySchedule,
    Send,
    Settled,
    SmtpMailer,
)
from services.notifications.application.service import (
    Held,
    NotificationsApplication,
    NotSent,
    OutgoingMail,
)
from services.notifications.domain.notification import BECAME_SENDABLE

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: The parts of every message: plain text, and HTML (multipart/alternative).
PARTS: Final = ("txt", "html")


class _MessageLoader(FileSystemLoader):
    """Each message is written once per language, `<lang>/<name>.j2`, and rendered
    twice: as `<lang>/<name>.txt` (plain text) and `<lang>/<name>.html` (the same words,
    escaped, in paragraphs). A part-specific file, `<name>.<part>.j2`, wins where one
    exists (the layouts). So `select_autoescape` decides by the part's name, and the
    two parts can never say different things."""

    def get_source(self, environment: Environment, template: str) -> Any:
        base, _, part = template.rpartition(".")
        if part in PARTS and base:
            try:
                return super().get_source(environment, f"{base}.{part}.j2")
            except TemplateNotFound:
                return super().get_source(environment, f"{base}.j2")
        return super().get_source(environment, template)


_templates = Environment(
    loader=_MessageLoader(TEMPLATES_DIR),
    undefined=StrictUndefined,
    # The HTML part escapes every value (a name with "<" stays text); the plain-text
    # part must not (it would show "&lt;").
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The codes the contract publishes, in the words each reader reads.
WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        # the steps at which an applicant can be turned down
        "eligibility": "the eligibility check",
        "documents": "the review of your documents",
        "first_interview": "the first interview",
        "second_interview": "the second interview",
        "selection": "the final selection",
        "first": "first",
        "second": "second",
        # documents
        "certificate_of_enrollment": "certificate of enrollment",
        "certificate_of_graduation": "certificate of graduation",
        "language_score_certificate": "language score certificate",
        "letter_of_recommendation": "letter of recommendation",
        "resume": "résumé",
        # why a document was rejected
        "unreadable": "we could not read it; please send a clear scan or photo of it",
        "wrong_kind": "it is not the kind of document asked for",
        "incomplete": "part of it is missing",
        "expired": "it is no longer valid",
        "not_the_applicants": "it does not appear to be yours",
        "other": "it does not meet the program's requirements",
        # why a document is requested
        "missing": "it is missing from your application",
        "rejected": "the one you sent could not be accepted",
        "requested_by_office": "the office needs it to review your application",
        # interviews
        "local": "your local language",
        "english": "English",
        "japanese": "Japanese",
        "online": "online (video call)",
        "in_person": "in person",
        "phone": "by telephone",
        # registered details
        "given_name": "given name",
        "family_name": "family name",
        "date_of_birth": "date of birth",
        "nationality": "nationality",
        "country_of_residence": "country of residence",
        "education": "education",
        "languages": "language skills",
        "language": "the language we write to you in",
        # rights of the privacy policy
        "disclosure": "disclosure of the data we hold on you",
        "amendment": "correction of your data",
        "addition": "addition to your data",
        "suspension_of_use": "suspension of the use of your data",
        "resumption_of_use": "resumption of the use of your data",
        "stop_third_party_provision": "stopping the provision of your data to third parties",
        "resumption_of_third_party_provision": "resuming the provision of your data to "
        "third parties",
        "deletion": "deletion of your data",
        # a company's decision
        "three_way": "one agreement signed by the office, the company and the intern",
        "per_pair": "two agreements: the office with the company, and the office with the intern",
    },
    "ja": {
        "eligibility": "応募資格の審査",
        "documents": "提出書類の審査",
        "first_interview": "一次面接",
        "second_interview": "二次面接",
        "selection": "最終選考",
        "first": "一次",
        "second": "二次",
        "certificate_of_enrollment": "在学証明書",
        "certificate_of_graduation": "卒業証明書",
        "language_score_certificate": "語学試験の成績証明書",
        "letter_of_recommendation": "推薦状",
        "resume": "履歴書",
        "unreadable": "内容を判読できませんでした。鮮明なスキャンまたは写真をお送りください",
        "wrong_kind": "ご依頼した種類の書類ではありませんでした",
        "incomplete": "書類の一部が欠けておりました",
        "expired": "有効期限が切れておりました",
        "not_the_applicants": "ご本人の書類であることが確認できませんでした",
        "other": "本プログラムの要件を満たしておりませんでした",
        "missing": "ご応募の書類に含まれておりませんでした",
        "rejected": "お送りいただいた書類を受理できませんでした",
        "requested_by_office": "審査のため事務局で必要となりました",
        "local": "母語",
        "english": "英語",
        "japanese": "日本語",
        "online": "オンライン（ビデオ通話）",
        "in_person": "対面",
        "phone": "電話",
        "given_name": "名",
        "family_name": "姓",
        "date_of_birth": "生年月日",
        "nationality": "国籍",
        "country_of_residence": "居住国",
        "education": "学歴",
        "languages": "語学力",
        "language": "ご連絡に使用する言語",
        "disclosure": "保有個人データの開示",
        "amendment": "保有個人データの訂正",
        "addition": "保有個人データの追加",
        "suspension_of_use": "保有個人データの利用停止",
        "resumption_of_use": "保有個人データの利用再開",
        "stop_third_party_provision": "保有個人データの第三者提供の停止",
        "resumption_of_third_party_provision": "保有個人データの第三者提供の再開",
        "deletion": "保有個人データの消去",
        "three_way": "事務局・受入企業・研修生の三者による協定書1通",
        "per_pair": "事務局と受入企業、事務局と研修生の協定書各1通",
    },
}

#: Why an applicant is not eligible, by the rule id screening publishes
#: (`EligibilityAssessed.checks[].rule`, `ApplicantRejected.reasons[].code`), in words.
RULE_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "plausibility": "some of the facts in your application cannot be right (for "
        "example a graduation date or a year of earlier participation); the office will "
        "ask you to correct them",
        "nationality_on_recipient_list": "the program is open to citizens of the "
        "countries on the OECD list of development aid recipients it follows, and your "
        "nationality is not on it",
        "nationality_not_excluded": "citizens of your country cannot take part in this "
        "year's program",
        "age_within_cohort_range": "your age on the program's reference date is outside "
        "the age range of this call",
        "language": "your language scores do not reach the level required (a JLPT level "
        "or an accepted English test score)",
        "education": "your education does not match the levels this call accepts",
        "not_residing_in_japan": "applicants already living in Japan cannot apply to this call",
        "no_earlier_participation": "you took part in the program in a year this call excludes",
        "no_final_job_commitment": "the program is for applicants who have not yet "
        "committed to a final job",
        # a host company's registration (SME Basic Act, Article 2)
        "not_a_company": "only companies may host interns; government bodies, NGOs and "
        "associations cannot",
        "not_an_sme": "the program's hosts are small or medium-sized enterprises, and "
        "the capital and the number of regular employees given are both above the "
        "limits for the industry",
    },
    "ja": {
        "plausibility": "ご応募内容の一部（卒業年月日や過去の参加年度など）に誤りがあると"
        "考えられます。事務局より訂正をお願いする予定です",
        "nationality_on_recipient_list": "本プログラムは、OECD開発援助委員会（DAC）の"
        "援助受取国リストに掲載された国の国籍をお持ちの方を対象としておりますが、"
        "ご国籍は同リストに含まれておりません",
        "nationality_not_excluded": "今年度のプログラムには、ご国籍の方はご参加いただけません",
        "age_within_cohort_range": "基準日時点のご年齢が、今回の募集の年齢要件の範囲外です",
        "language": "語学試験の成績が要件（日本語能力試験の所定のレベル、"
        "または認められた英語試験の所定のスコア）に達しておりません",
        "education": "ご学歴が、今回の募集で対象としている学歴に該当しません",
        "not_residing_in_japan": "既に日本に居住されている方は、今回の募集にはご応募いただけません",
        "no_earlier_participation": "今回の募集で対象外としている年度に、"
        "本プログラムへのご参加歴があります",
        "no_final_job_commitment": "本プログラムは、最終的な就職先が未定の方を対象としております",
        "not_a_company": "研修生の受入れは企業に限られており、官公庁、NGO、団体等は"
        "受入企業となることができません",
        "not_an_sme": "本プログラムの受入企業は中小企業に限られておりますが、ご登録の資本金"
        "および常時使用する従業員数がいずれも業種ごとの基準を上回っております",
    },
}
JAPAN = ZoneInfo("Asia/Tokyo")
_WEEKDAYS_JA = "月火水木金土日"


def _defined(value: Any) -> Any:
    """A filter's argument, or the error StrictUndefined gives for a missing variable
    (a filter is handed the undefined value itself, which fails only when used)."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


@pass_context
def in_words(context: Context, code: str) -> str:
    code = _defined(code)
    return WORDS[context["lang"]].get(code, code.replace("_", " "))


@pass_context
def reason_in_words(context: Context, reason: Any) -> str:
    """A reason of a decision in the reader's words: a known rule id as a sentence;
    otherwise the words the office gave (older messages kept the words only)."""
    if isinstance(_defined(reason), str):
        return reason
    sentence = RULE_WORDS[context["lang"]].get(reason["code"])
    return sentence if sentence is not None else str(reason["text"])


def _format(at: datetime, lang: str, zone: str) -> str:
    if lang == "ja":
        weekday = _WEEKDAYS_JA[at.weekday()]
        return f"{at.year}年{at.month}月{at.day}日（{weekday}）{at:%H:%M}（{zone}）"
    return at.strftime(f"%A %d %B %Y, %H:%M {zone}")


@pass_context
def utc_time(context: Context, moment: str) -> str:
    at = datetime.fromisoformat(_defined(moment)).astimezone(UTC)
    return _format(at, context["lang"], "UTC")


@pass_context
def japan_time(context: Context, moment: str) -> str:
    at = datetime.fromisoformat(_defined(moment)).astimezone(JAPAN)
    return _format(at, context["lang"], "JST" if context["lang"] == "en" else "日本時間")


@pass_context
def a_date(context: Context, day: str) -> str:
    """A date (YYYY-MM-DD, or a moment) as the reader writes it."""
    on = date.fromisoformat(_defined(day)[:10])
    if context["lang"] == "ja":
        return f"{on.year}年{on.month}月{on.day}日"
    return f"{on.day} {on:%B %Y}"


def paragraphs(text: str) -> Markup:
    """The HTML part's body: the same text, already escaped, in paragraphs (a blank
    line) and lines."""
    safe = text if isinstance(text, Markup) else escape(text)
    chunks = [c.strip("\n") for c in re.split(r"\n\s*\n", str(safe)) if c.strip()]
    html = "".join(f"<p>{c.replace(chr(10), '<br>' + chr(10))}</p>\n" for c in chunks)
    return Markup(html)  # noqa: S704 - built from escaped text and our own tags


_templates.filters.update(
    words=in_words,
    reason=reason_in_words,
    utc=utc_time,
    jst=japan_time,
    on=a_date,
    paragraphs=paragraphs,
)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body: str
    html: str


@cache
def _compiled(template: str, language: str, part: str) -> Template:
    # Compiling a Jinja template costs far more than rendering it: once per template.
    return _templates.get_template(f"{language}/{template}.{part}")


def template_names() -> set[str]:
    """Every message, by its name (the layouts apart)."""
    return {
        p.name.removesuffix(".j2")
        for p in (TEMPLATES_DIR / "en").glob("*.j2")
        if not p.name.startswith("_")
    }


def render(template: str, language: str, context: Mapping[str, Any]) -> RenderedMail:
    """The subject, the plain-text body and the HTML body of a notification, in the
    reader's language. A missing variable is an error (StrictUndefined), never a blank
    in a message sent to a person. `context` may not name `lang` or `part`."""
    parts: dict[str, str] = {}
    subject = ""
    for part in PARTS:
        compiled = _compiled(template, language, part)
        values = {**context, "lang": language, "part": part}
        parts[part] = compiled.render(values)
        if part == "txt":
            # The subject is the message's own block, rendered without escaping.
            subject = "".join(compiled.blocks["subject"](compiled.new_context(values)))
    return RenderedMail(subject=" ".join(subject.split()), body=parts["txt"], html=parts["html"])


#: A message held behind an earlier one of the same person is looked at again when that
#: one is settled, and at the latest after this long.
LOOK_AGAIN = timedelta(seconds=5)


class NotificationMailer(MailFollower):
    """Follows the log; for each notification that may have become sendable, sends it
    when its turn comes, unless it was sent meanwhile (its current state decides)."""

    watches = BECAME_SENDABLE

    def __init__(
        self,
        app: NotificationsApplication,
        mailer: SmtpMailer,
        *,
        schedule: RetrySchedule | None = None,
        patience: timedelta = timedelta(minutes=30),
        **kwargs: Any,
    ) -> None:
        super().__init__(app, mailer, name="mailer:notifications", **kwargs)
        self.notifications = app
        self.schedule = schedule or RetrySchedule()
        self.patience = patience

    def owed_by(self, domain_event: Any) -> Iterable[tuple[Hashable, Any]]:
        yield domain_event.originator_id, None

    def prepare(self, key: Hashable, source: Any, now: datetime) -> Send | Later | None:
        decision = self.notifications.mail_to_send(
            key,  # type: ignore[arg-type]
            now,
            self.mailer.domain,
            self.patience,
        )
        if decision is None:
            return None
        if isinstance(decision, NotSent):
            self.notifications.record_not_sent(key, decision)  # type: ignore[arg-type]
            return None
        if isinstance(decision, Held):
            return Later(decision.until or now + LOOK_AGAIN, decision.lane)
        rendered = render(decision.template, decision.language, decision.context)
        message = self.mailer.compose(
            decision.to, rendered.subject, rendered.body, decision.message_id, html=rendered.html
        )
        return Send(message, decision.lane, decision)

    def settle(self, key: Hashable, send: Send, outcome: Delivery, now: datetime) -> Settled:
        mail: OutgoingMail = send.state
        retry_at = self.notifications.apply_delivery(mail, outcome, self.schedule)
        return Settled(retry_at, [mail.notification])

    def record(
        self, key: Hashable, send: Send, outcome: Delivery, now: datetime
    ) -> datetime | None:
        mail: OutgoingMail = send.state
        return self.notifications.record_delivery(mail, outcome, self.schedule)
