"""The order of one applicant's messages: the order of the steps on their path, not the
order in which the services' events happened to be read."""

import uuid
from datetime import UTC, datetime, timedelta

from services.notifications.domain.path import MailOnPath, NotYet, Step, step_of, why_not_yet

RECEIVED = frozenset({"application_received"})

T0 = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)
PATIENCE = timedelta(minutes=30)


def mail(template: str, state: str = "pending", stage: str | None = None, at=T0) -> MailOnPath:
    context = {"stage": stage} if stage else {}
    return MailOnPath(uuid.uuid4(), step_of(template, context), state, at)


def test_the_path_orders_the_milestones_of_an_applicant():
    path = [
        step_of("application_received", {}),
        step_of("applicant_rejected", {"stage": "eligibility"}),
        step_of("document_requested", {}),
        step_of("applicant_rejected", {"stage": "documents"}),
        step_of("documents_complete", {}),
        step_of("interview_scheduled", {"stage": "first"}),
        step_of("interview_passed", {"stage": "first"}),
        step_of("interview_rescheduled", {"stage": "second"}),
        step_of("interview_failed", {"stage": "second"}),
        step_of("candidate_selected", {}),
        step_of("match_proposed", {}),
        step_of("match_confirmed", {}),
        step_of("agreement_ready", {}),
        step_of("agreement_signed", {}),
    ]
    ranks = [s.rank for s in path if s]
    assert len(ranks) == len(path) and ranks == sorted(set(ranks))
    assert step_of("inquiry_answer", {}) is None
    # an eligible applicant hears it where an ineligible one would hear the opposite;
    # an accepted document sits with the other documents' news
    assert step_of("eligibility_passed", {}) == Step(2, "eligibility_passed", RECEIVED)
    assert step_of("document_accepted", {}).rank == step_of("document_requested", {}).rank
    # the amendment of details and a privacy answer are on no path: they go at once
    assert step_of("details_amended", {}) is None
    assert step_of("privacy_request_answered", {}) is None


def test_a_companys_path_and_its_reminder_on_none():
    path = [
        "company_registered",
        "candidates_proposed",
        "match_confirmed_company",
        "agreement_ready_company",
        "agreement_signed_company",
    ]
    ranks = [step_of(t, {}).rank for t in path]
    assert ranks == sorted(set(ranks))
    assert step_of("company_refused", {}).rank == step_of("company_registered", {}).rank
    # waiting for its time must not hold back the company's other messages
    assert step_of("decision_reminder", {}) is None


def test_the_agreement_waits_for_the_match_read_after_it_then_goes_in_order():
    # given the agreement's message owed (its cause read) before the match's
    welcome = mail("application_received", "sent")
    passed = [mail("interview_passed", "sent", stage=s) for s in ("first", "second")]
    selected = mail("candidate_selected", "sent")
    agreement = mail("agreement_ready")
    # then it waits for the news of the match
    wait = why_not_yet(agreement, [welcome, *passed, selected], T0, PATIENCE)
    assert wait is not None and "match_confirmed" in wait.reason
    # and once the match is owed too, it waits behind it, then goes
    match = mail("match_confirmed", at=T0 + timedelta(seconds=5))
    assert why_not_yet(agreement, [welcome, *passed, selected, match], T0, PATIENCE) == NotYet(
        "an earlier message of this person is still owed", None
    )
    sent = MailOnPath(match.id, match.step, "sent", match.requested_at)
    assert why_not_yet(agreement, [welcome, *passed, selected, sent], T0, PATIENCE) is None


def test_a_companys_match_waits_behind_its_welcome_read_last():
    welcome = mail("company_registered")
    proposed = mail("candidates_proposed", "sent")
    confirmed = mail("match_confirmed_company")
    wait = why_not_yet(confirmed, [welcome, proposed], T0, PATIENCE)
    assert wait is not None and wait.until is None


def test_a_rounds_invitation_new_time_and_cancellation_come_before_its_result():
    for stage in ("first", "second"):
        result = step_of("interview_passed", {"stage": stage})
        assert result is not None
        for template in ("interview_scheduled", "interview_rescheduled", "interview_cancelled"):
            scheduling = step_of(template, {"stage": stage})
            assert scheduling is not None and scheduling.rank < result.rank
    # and a second round's invitation comes after the first round's result
    first, invited = (
        step_of("interview_failed", {"stage": "first"}),
        step_of("interview_scheduled", {"stage": "second"}),
    )
    assert first is not None and invited is not None and first.rank < invited.rank


def test_a_match_waits_while_the_interview_message_before_it_is_still_owed():
    # given the first interview's message deferred by the mail server, and a match
    interview = mail("interview_passed", "retrying", stage="first")
    second = mail("interview_passed", "sent", stage="second")
    selected = mail("candidate_selected", "sent")
    welcome = mail("application_received", "sent")
    match = mail("match_confirmed")

    wait = why_not_yet(match, [welcome, interview, second, selected], T0, PATIENCE)

    assert wait is not None and wait.until is None
    assert "earlier message" in wait.reason
    # and once the interview's message is sent, the match may go
    sent = MailOnPath(interview.id, interview.step, "sent", T0)
    assert why_not_yet(match, [welcome, sent, second, selected], T0, PATIENCE) is None


def test_an_earlier_message_does_not_wait_for_a_later_one():
    welcome = mail("application_received")
    match = mail("match_confirmed", "retrying")
    assert why_not_yet(welcome, [match], T0, PATIENCE) is None


def test_a_match_read_before_the_interview_results_waits_for_them_but_not_forever():
    # given the match read first: the interview results are still on their way
    welcome = mail("application_received", "sent")
    match = mail("match_confirmed")

    wait = why_not_yet(match, [welcome], T0, PATIENCE)
    assert wait is not None and wait.until == T0 + PATIENCE
    assert "interview_passed:first" in wait.reason and "interview_passed:second" in wait.reason
    assert "candidate_selected" in wait.reason

    # when they are read, the match waits behind their messages
    first = mail("interview_passed", stage="first")
    second = mail("interview_passed", stage="second")
    selected = mail("candidate_selected")
    assert why_not_yet(match, [welcome, first, second, selected], T0, PATIENCE) is not None
    # and if an upstream event never comes, the match still goes after the patience
    assert why_not_yet(match, [welcome], T0 + PATIENCE, PATIENCE) is None


def test_documents_complete_after_an_interview_message_does_not_hold_anything():
    # documents may be completed after the first interview: nothing implies them
    interview = mail("interview_passed", "sent", stage="first")
    documents = mail("documents_complete", at=T0 + timedelta(hours=1))
    welcome = mail("application_received", "sent")
    assert why_not_yet(documents, [welcome, interview], T0, PATIENCE) is None


def test_two_messages_of_the_same_step_go_in_the_order_they_were_owed():
    first_match = mail("match_confirmed", "pending", at=T0)
    second_match = mail("match_confirmed", "pending", at=T0 + timedelta(days=3))
    earlier = [mail("application_received", "sent"), mail("candidate_selected", "sent")] + [
        mail("interview_passed", "sent", stage=s) for s in ("first", "second")
    ]
    assert why_not_yet(first_match, [*earlier, second_match], T0, PATIENCE) is None
    assert why_not_yet(second_match, [*earlier, first_match], T0, PATIENCE) is not None


def test_an_inquiry_answer_waits_for_nothing():
    answer = mail("inquiry_answer")
    assert why_not_yet(answer, [mail("application_received")], T0, PATIENCE) is None


def test_an_invitation_read_after_the_result_of_its_round_still_goes_first():
    # the result of the first round was owed before its invitation's news was read
    welcome = mail("application_received", "sent")
    result = mail("interview_passed", stage="first", at=T0)
    invitation = mail("interview_scheduled", stage="first", at=T0 + timedelta(minutes=1))
    assert why_not_yet(result, [welcome, invitation], T0, PATIENCE) is not None
    assert why_not_yet(invitation, [welcome, result], T0, PATIENCE) is None


def test_a_rejection_for_eligibility_goes_after_the_welcome():
    welcome = mail("application_received", "retrying")
    rejected = mail("applicant_rejected", stage="eligibility")
    assert why_not_yet(rejected, [welcome], T0, PATIENCE) is not None
    sent = MailOnPath(welcome.id, welcome.step, "sent", T0)
    assert why_not_yet(rejected, [sent], T0, PATIENCE) is None


def test_steps_go_in_the_order_they_happened_where_the_path_cannot_tell() -> None:
    # All documents submitted, then one accepted by the screener: the acceptance (read
    # first, from another topic) waits behind the news that they are complete.
    complete = MailOnPath(
        uuid.uuid4(), step_of("documents_complete", {}), "pending", T0, happened_at=T0
    )
    accepted = MailOnPath(
        uuid.uuid4(),
        step_of("document_accepted", {}),
        "pending",
        T0 - timedelta(seconds=5),
        happened_at=T0 + timedelta(minutes=3),
    )
    welcome = mail("application_received", "sent")
    assert why_not_yet(accepted, [welcome, complete], T0, PATIENCE) is not None
    assert why_not_yet(complete, [welcome, accepted], T0, PATIENCE) is None
    # A company confirms one candidate, then is proposed another: in that order.
    confirmed = MailOnPath(
        uuid.uuid4(), step_of("match_confirmed_company", {}), "pending", T0, happened_at=T0
    )
    proposed = MailOnPath(
        uuid.uuid4(),
        step_of("candidates_proposed", {}),
        "pending",
        T0,
        happened_at=T0 + timedelta(seconds=1),
    )
    registered = mail("company_registered", "sent")
    assert why_not_yet(proposed, [registered, confirmed], T0, PATIENCE) is not None
    assert why_not_yet(confirmed, [registered, proposed], T0, PATIENCE) is None
