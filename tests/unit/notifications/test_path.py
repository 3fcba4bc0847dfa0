"""The order of one applicant's messages: the order of the steps on their path, not the
order in which the services' events happened to be read."""

import uuid
from datetime import UTC, datetime, timedelta

from services.notifications.domain.path import MailOnPath, step_of, why_not_yet

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
        step_of("match_confirmed", {}),
    ]
    ranks = [s.rank for s in path if s]
    assert len(ranks) == len(path) and ranks == sorted(set(ranks))
    assert step_of("inquiry_answer", {}) is None


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
