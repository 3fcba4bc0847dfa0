"""Matching's HTTP API, for office staff, host companies' users and (to sign their
agreements, or withdraw) the interns. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back:
`{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from events.registration import CourseCode
from kernel.actor import Actor
from kernel.rules import NotFound, RuleViolation
from runtime.http import (
    ERROR_RESPONSES,
    Caller,
    ContinuedFlow,
    Forbidden,
    applicant_or_staff_in,
    application,
    build_app,
    company_or_staff_in,
    require_own_company,
    staff_in,
)
from runtime.identity import Gate
from runtime.privacy import PersonalData, SubjectErased
from runtime.privacy_api import RecordsOf, stored_events_of, subject_records_router
from services.matching.adapters import companies
from services.matching.application.service import MatchingApplication
from services.matching.domain.agreement import AgreementStructure
from services.matching.domain.candidate import Candidate, CandidateStatus
from services.matching.domain.company import company_aggregate_id
from services.matching.domain.match import Match, match_id_for
from services.matching.domain.preferences import INTEREST_RANKING
from services.matching.domain.restrictions import restrictions_id_for

Party = Literal["office", "intern", "company"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchRequest(Strict):
    """A host company's final decision to take the candidate a round proposed to it."""

    applicant_id: uuid.UUID
    company_id: uuid.UUID
    course: CourseCode | None = Field(
        default=None, description="If given, must be the proposal's course."
    )


class DecisionRequest(Strict):
    """A host company's decision on the candidate a round proposed to it."""

    decision: Literal["confirm", "decline"]
    reason_code: (
        Literal["interview_not_passed", "plan_not_suitable", "no_longer_hosting", "other"] | None
    ) = Field(default=None, description="Required to decline.")
    note: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None,
        description="The company's own words (kept sealed with the applicant's key).",
    )


class CandidatePreferencesRequest(Strict):
    companies: list[uuid.UUID] = Field(
        max_length=200, description="Host companies, most wanted first, each once."
    )
    basis: Literal["own_choice", "interests"] = Field(
        default="own_choice",
        description="`interests`: the office confirms a list ranked from the candidate's "
        "interests (see `suggested-preferences`).",
    )


class CompanyPreferencesRequest(Strict):
    candidates: list[uuid.UUID] = Field(
        max_length=200, description="Acceptable candidates, most wanted first, each once."
    )


class PreferencesView(BaseModel):
    subject_id: uuid.UUID
    ranked: list[uuid.UUID]
    changed: bool = Field(description="False when this very list was already recorded.")


class SuggestedCompany(BaseModel):
    company_id: uuid.UUID
    score: int = Field(description="Words of the candidate's interests found in its plan.")


class SuggestedPreferences(BaseModel):
    applicant_id: uuid.UUID
    ranking: dict[str, Any] = Field(description="The ranking and its version.")
    companies: list[SuggestedCompany]


class RoundView(BaseModel):
    round_id: uuid.UUID
    cohort_id: str
    round_number: int
    algorithm: dict[str, Any]
    constraints: dict[str, Any]
    inputs_digest: str
    inputs: dict[str, Any]
    excluded_pairs: list[dict[str, Any]]
    matches: list[dict[str, Any]] = Field(
        description="Each pair proposed: applicant_id, company_id, course, and match_id "
        "(where the company decides)."
    )
    unmatched_candidates: list[str]
    blocking_pairs: int
    capacity_violations: int


class SignatureRequest(Strict):
    """A party signs one agreement of a match, under its own identity: the intern
    with their own access, a user of the match's company, a member of the office."""

    party: Party


class AgreementView(BaseModel):
    agreement_id: uuid.UUID
    parties: list[Party]
    signatures: dict[Party, datetime] = Field(description="Who signed already, and when.")
    signed_at: datetime | None = Field(description="When its last party signed; null until.")


class ProposalView(BaseModel):
    proposal_id: uuid.UUID
    round_id: uuid.UUID
    company_id: uuid.UUID
    course: str
    decide_by: datetime


class MatchView(BaseModel):
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    cohort_id: str
    course: str
    confirmed_at: datetime | None
    proposal: ProposalView | None = Field(
        default=None, description="The round's proposal awaiting the company's decision."
    )
    declined_by: list[uuid.UUID] = Field(
        default=[], description="Companies that declined this candidate (never proposed again)."
    )
    agreement_structure: AgreementStructure | None = Field(
        description="`three_way` (office, intern, company) or `per_pair` (the online "
        "course); null while matching does not know the cohort's course."
    )
    agreements: list[AgreementView]


class MatchConfirmedResponse(MatchView):
    confirmed: bool = Field(description="False when this decision was already recorded.")


class SignatureResponse(BaseModel):
    match_id: uuid.UUID
    party: Party
    agreement: AgreementView
    agreement_signed: bool = Field(description="Whether this signature completed the agreement.")


class HoldReason(BaseModel):
    code: str
    text: str


class CandidateView(BaseModel):
    applicant_id: uuid.UUID
    cohort_id: str
    status: CandidateStatus = Field(
        description="`on_hold`: the office is reviewing their eligibility after their "
        "selection; `removed`: the office rejected them."
    )
    passed_screening_at: datetime = Field(description="When the office selected them.")
    match_id: uuid.UUID | None
    course_preferences: list[str]
    period_preferences: list[str]
    internship_interests: list[str]
    languages: dict[str, Any]
    on_hold_because: list[HoldReason] = Field(
        default=[], description="Why the candidate is on hold (screening's reasons)."
    )


class OfferedCandidateView(BaseModel):
    applicant_id: uuid.UUID
    cohort_id: str
    passed_screening_at: datetime


class OfferedPool(BaseModel):
    cohort_id: str
    candidates: list[OfferedCandidateView] = Field(
        description="In the order they entered the pool; never anyone who stopped the "
        "provision of their data to third parties, suspended its use, or was erased, "
        "nor anyone on hold or rejected by the office."
    )


def agreement_view(
    match: Match, agreement_id: uuid.UUID, parties: tuple[str, ...]
) -> AgreementView:
    signed = match.signed.get(agreement_id)
    return AgreementView(
        agreement_id=agreement_id,
        parties=list(parties),  # type: ignore[arg-type]
        signatures=match.signatures.get(agreement_id, {}),  # type: ignore[arg-type]
        signed_at=signed["signed_at"] if signed else None,
    )


def match_view(app: MatchingApplication, match: Match) -> dict[str, Any]:
    """The match with its agreements (blocking: it may read the cohort's courses)."""
    if not match.is_confirmed:
        return {
            "match_id": match.id,
            "applicant_id": match.applicant_id,
            "company_id": match.company_id,
            "cohort_id": match.cohort_id,
            "course": match.course,
            "confirmed_at": None,
            "proposal": match.pending,
            "declined_by": match.declined_by,
            "agreement_structure": None,
            "agreements": [],
        }
    try:
        structure: AgreementStructure | None = app.agreement_structure_of(match)
    except RuleViolation:
        structure = None
    agreements = (
        [agreement_view(match, i, parties) for i, parties in match.agreements(structure)]
        if structure is not None
        else []
    )
    return {
        "match_id": match.id,
        "applicant_id": match.applicant_id,
        "company_id": match.company_id,
        "cohort_id": match.cohort_id,
        "course": match.course,
        "confirmed_at": match.confirmed_at,
        "proposal": None,
        "declined_by": match.declined_by,
        "agreement_structure": structure,
        "agreements": agreements,
    }


def candidate_view(candidate: Candidate) -> CandidateView:
    return CandidateView(
        applicant_id=candidate.id,
        cohort_id=candidate.cohort_id,
        status=candidate.status,
        passed_screening_at=candidate.passed_screening_at,
        match_id=candidate.match_id,
        course_preferences=candidate.course_preferences,
        period_preferences=candidate.period_preferences,
        internship_interests=candidate.internship_interests,
        languages=candidate.languages,
        on_hold_because=candidate.hold["reasons"] if candidate.hold else [],
    )


App = Annotated[MatchingApplication, Depends(application)]
#: Who may record a company's decision: the office, or a user of that company.
Decider = company_or_staff_in("matcher", "admin")
#: Who may read the pool.
PoolReader = staff_in("matcher", "admin", "auditor")
#: The pool offered to host companies is read by their users: the provision to a third
#: party that a person may stop.
OfferedPoolReader = company_or_staff_in("matcher", "admin", "auditor")
#: Who may withdraw a candidate: the applicant themself, or the office for them.
Withdrawer = applicant_or_staff_in("matcher", "admin")


def party_or_staff_in(*roles: str) -> Any:
    """A party of a match (an applicant, a host company's user), or office staff in one
    of `roles`. The endpoint then checks that the party is the match's own
    (`require_own_match`)."""
    allowed = frozenset(roles)

    async def party_or_staff(caller: Caller) -> Actor:
        if caller.kind in ("applicant", "company"):
            return caller.actor
        if caller.kind == "staff" and caller.role in allowed:
            return caller.actor
        raise Forbidden()

    return Annotated[Actor, Depends(party_or_staff)]


def require_own_match(actor: Actor, match: Match | None) -> None:
    """The intern and the company's users reach only their own match; staff are not
    limited. None for a match that does not exist: the same 403, so that nobody outside
    the office can probe for matches."""
    if actor["kind"] == "applicant" and (match is None or actor["id"] != str(match.applicant_id)):
        raise Forbidden()
    require_own_company(actor, match.company_id if match is not None else None)


def require_signs_as(actor: Actor, party: str) -> None:
    """Each party signs under its own identity: nobody signs for another (403)."""
    kind = {"intern": "applicant", "company": "company", "office": "staff"}[party]
    if actor["kind"] != kind:
        raise Forbidden()


#: Who may read a match: the office, the match's intern, a user of its company.
MatchReader = party_or_staff_in("matcher", "admin", "auditor")
#: Who may sign: each party for itself (the office: matcher, admin).
Signer = party_or_staff_in("matcher", "admin")
router = APIRouter(responses=ERROR_RESPONSES)


@router.post(
    "/matches",
    status_code=201,
    response_model=MatchConfirmedResponse,
    summary="Confirm the candidate a round proposed to a company: its final decision "
    "(matcher, admin, or a user of that company)",
    responses={200: {"model": MatchConfirmedResponse, "description": "Already recorded."}},
)
async def confirm_match(
    body: MatchRequest, app: App, decider: Decider, cid: ContinuedFlow, response: Response
) -> Any:
    """Refused (409) for a pair no round proposed, or whose proposal no longer stands."""
    require_own_company(decider, body.company_id)
    match, confirmed = await asyncio.to_thread(
        app.confirm_match, body.applicant_id, body.company_id, body.course, decider, cid
    )
    if not confirmed:
        response.status_code = status.HTTP_200_OK
    # The view reads the cohort's courses from the store: off the loop.
    view = await asyncio.to_thread(match_view, app, match)
    return MatchConfirmedResponse(**view, confirmed=confirmed)


@router.post(
    "/matches/{match_id}/agreements/{agreement_id}/signatures",
    status_code=201,
    response_model=SignatureResponse,
    summary="A party signs one agreement of a confirmed match under its own identity (the "
    "match's intern, a user of its company, the office: matcher, admin)",
)
async def sign_agreement(
    match_id: uuid.UUID,
    agreement_id: uuid.UUID,
    body: SignatureRequest,
    app: App,
    signer: Signer,
    cid: ContinuedFlow,
) -> Any:
    require_signs_as(signer, body.party)
    try:
        found: Match | None = await asyncio.to_thread(app.get_match, match_id)
    except NotFound:
        found = None
    require_own_match(signer, found)
    if found is None:
        raise NotFound("match_id", "there is no such match")
    match, completed = await asyncio.to_thread(
        app.sign_agreement, match_id, agreement_id, body.party, signer, cid
    )
    parties = dict(match.agreements(app.agreement_structure_of(match)))[agreement_id]
    return SignatureResponse(
        match_id=match.id,
        party=body.party,
        agreement=agreement_view(match, agreement_id, parties),
        agreement_signed=completed,
    )


@router.post(
    "/candidates/{applicant_id}/withdrawal",
    status_code=201,
    response_model=CandidateView,
    summary="The applicant withdraws from the program, before any company's final "
    "decision (the applicant themself; matcher, admin)",
    responses={200: {"model": CandidateView, "description": "Already withdrawn."}},
)
async def withdraw(
    applicant_id: uuid.UUID, app: App, who: Withdrawer, cid: ContinuedFlow, response: Response
) -> Any:
    candidate, new = await asyncio.to_thread(app.withdraw, applicant_id, who, cid)
    if not new:
        response.status_code = status.HTTP_200_OK
    return candidate_view(candidate)


@router.get(
    "/candidates/{applicant_id}",
    response_model=CandidateView,
    summary="A candidate in the pool, or matched (matcher, admin, auditor)",
)
async def get_candidate(applicant_id: uuid.UUID, app: App, _: PoolReader) -> Any:
    return candidate_view(await asyncio.to_thread(app.get_candidate, applicant_id))


@router.get(
    "/matches/{match_id}",
    response_model=MatchView,
    summary="A match and its agreements (matcher, admin, auditor, the match's intern, or "
    "a user of the match's company)",
)
async def get_match(match_id: uuid.UUID, app: App, reader: MatchReader) -> Any:
    try:
        match = await asyncio.to_thread(app.get_match, match_id)
    except NotFound:
        # A company user or an applicant gets the same refusal for a match that does
        # not exist as for another's: they cannot probe for matches.
        require_own_match(reader, None)
        raise
    require_own_match(reader, match)
    return MatchView(**await asyncio.to_thread(match_view, app, match))


@router.get(
    "/cohorts/{cohort_id}/pool",
    response_model=OfferedPool,
    summary="The cohort's candidates offered to host companies, a third party (host "
    "companies' users; matcher, admin, auditor)",
)
async def pool_offered_to_host_companies(
    cohort_id: Annotated[str, Path(pattern=r"^FY\d{4}(-[A-Z0-9]{1,8})?$")],
    app: App,
    _: OfferedPoolReader,
) -> Any:
    offered = await asyncio.to_thread(app.pool_offered_to_host_companies, cohort_id)
    return OfferedPool(
        cohort_id=cohort_id,
        candidates=[OfferedCandidateView(**vars(c)) for c in offered],
    )


def round_view(round_: Any) -> RoundView:
    return RoundView(
        round_id=round_.id,
        cohort_id=round_.cohort_id,
        round_number=round_.round_number,
        algorithm=round_.algorithm,
        constraints=round_.constraints,
        inputs_digest=round_.inputs_digest,
        inputs=round_.inputs,
        excluded_pairs=round_.excluded_pairs,
        # With each pair's match: where the company decides on its proposal.
        matches=[
            {**m, "match_id": str(match_id_for(uuid.UUID(m["applicant_id"])))}
            for m in round_.matches
        ],
        unmatched_candidates=round_.unmatched_candidates,
        blocking_pairs=round_.blocking_pairs,
        capacity_violations=round_.capacity_violations,
    )


CohortPath = Annotated[str, Path(pattern=r"^FY\d{4}(-[A-Z0-9]{1,8})?$")]
#: Who runs a round and confirms a list from interests.
Matcher = staff_in("matcher", "admin")
#: Who reads rounds.
RoundReader = staff_in("matcher", "admin", "auditor")
#: Who states a company's list: its own user (refused before the body is read), or the
#: office.
CompanyRanker = companies.own_company_or_staff_in("matcher", "admin")
#: Who states a candidate's list: the candidate themself, or the office.
CandidateRanker = applicant_or_staff_in("matcher", "admin")


@router.put(
    "/candidates/{applicant_id}/preferences",
    response_model=PreferencesView,
    summary="A candidate's ranked host companies for the next rounds (the candidate "
    "themself; matcher, admin; a list from interests: matcher, admin)",
)
async def state_candidate_preferences(
    applicant_id: uuid.UUID,
    body: CandidatePreferencesRequest,
    app: App,
    who: CandidateRanker,
    cid: ContinuedFlow,
) -> Any:
    candidate, changed = await asyncio.to_thread(
        app.state_candidate_preferences, applicant_id, body.companies, body.basis, who, cid
    )
    return PreferencesView(
        subject_id=applicant_id, ranked=candidate.preferences or [], changed=changed
    )


@router.get(
    "/candidates/{applicant_id}/suggested-preferences",
    response_model=SuggestedPreferences,
    summary="Host companies ranked from the candidate's interests, for the office to "
    "confirm (matcher, admin)",
)
async def suggested_preferences(applicant_id: uuid.UUID, app: App, _: Matcher) -> Any:
    ranked = await asyncio.to_thread(app.suggested_preferences, applicant_id)
    return SuggestedPreferences(
        applicant_id=applicant_id,
        ranking=dict(INTEREST_RANKING),
        companies=[SuggestedCompany(company_id=c, score=s) for c, s in ranked],
    )


@router.put(
    "/companies/{company_id}/preferences",
    response_model=PreferencesView,
    summary="A company's ranked acceptable candidates for the next rounds (matcher, admin, "
    "or a user of that company)",
)
async def state_company_preferences(
    company_id: uuid.UUID,
    body: CompanyPreferencesRequest,
    app: App,
    who: CompanyRanker,
    cid: ContinuedFlow,
) -> Any:
    company, changed = await asyncio.to_thread(
        app.state_company_preferences, company_id, body.candidates, who, cid
    )
    return PreferencesView(subject_id=company_id, ranked=company.preferences or [], changed=changed)


@router.post(
    "/cohorts/{cohort_id}/rounds",
    status_code=201,
    response_model=RoundView,
    summary="Run the cohort's next matching round over the candidates and places still "
    "open: stable, candidate-proposing deferred acceptance (matcher, admin)",
)
async def run_round(cohort_id: CohortPath, app: App, who: Matcher, cid: ContinuedFlow) -> Any:
    return round_view(await asyncio.to_thread(app.run_round, cohort_id, who, cid))


@router.get(
    "/cohorts/{cohort_id}/rounds/{round_number}",
    response_model=RoundView,
    summary="A round: its inputs and their digest, the algorithm and its version, the "
    "pairs left out and why, the proposals (matcher, admin, auditor)",
)
async def get_round(
    cohort_id: CohortPath,
    round_number: Annotated[int, Path(ge=1, le=1000)],
    app: App,
    _: RoundReader,
) -> Any:
    return round_view(await asyncio.to_thread(app.get_round, cohort_id, round_number))


@router.post(
    "/matches/{match_id}/decision",
    response_model=MatchView,
    status_code=201,
    summary="The company's decision on the candidate a round proposed to it: confirm or "
    "decline with a reason (matcher, admin, or a user of that company)",
    responses={200: {"model": MatchView, "description": "This decision was already recorded."}},
)
async def decide(
    match_id: uuid.UUID,
    body: DecisionRequest,
    request: Request,
    app: App,
    decider: Decider,
    response: Response,
) -> Any:
    try:
        found: Match | None = await asyncio.to_thread(app.get_match, match_id)
    except NotFound:
        found = None
    proposed_to = None
    if found is not None:
        proposed_to = found.pending["company_id"] if found.pending else found.company_id
    # Another company's user learns nothing: the same 403 whether the match exists.
    require_own_company(decider, proposed_to)
    if found is None:
        raise NotFound("match_id", "there is no such match")
    if body.decision == "decline" and body.reason_code is None:
        raise RuleViolation("reason_code", "say why the company declines")
    personal_data: PersonalData = request.app.state.personal_data
    note = None
    if body.note is not None:
        try:
            note = await asyncio.to_thread(personal_data.seal, found.applicant_id, body.note)
        except SubjectErased:
            raise RuleViolation(
                "note", "the applicant was erased: nothing more is kept about them", conflict=True
            ) from None
    company_id = uuid.UUID(decider["company_id"]) if decider["kind"] == "company" else proposed_to
    assert company_id is not None
    decided = await asyncio.to_thread(
        app.decide,
        found.applicant_id,
        company_id,
        body.decision,
        decider,
        reason_code=body.reason_code,
        note=note,
    )
    if not decided.new:
        response.status_code = status.HTTP_200_OK
    return MatchView(**await asyncio.to_thread(match_view, app, decided.match))


def records_of(app: MatchingApplication) -> RecordsOf:
    """What matching holds on a data subject: the stored events of their candidacy,
    their match and agreement, and the restrictions they asked for (none of it a
    personal value, theirs all the same); for a host company, its registrations (the
    contacts are opened by the disclosure)."""

    async def held(subject_id: uuid.UUID) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            return {
                "candidate": stored_events_of(app, [subject_id]),
                "match": stored_events_of(app, [match_id_for(subject_id)]),
                "restrictions": stored_events_of(app, [restrictions_id_for(subject_id)]),
                # A host company's contacts have the company as their data subject.
                "company": stored_events_of(app, [company_aggregate_id(subject_id)]),
            }

        return await asyncio.to_thread(read)

    return held


def build_http_api(app: MatchingApplication, gate: Gate, personal_data: PersonalData) -> FastAPI:
    return build_app(
        title="JIP matching",
        description="The candidate pool, host companies' final decisions and the "
        "agreements of the Japan Internship Program (office staff and host companies).",
        routers=[
            router,
            companies.router,
            subject_records_router("matching", records_of(app), personal_data),
        ],
        gate=gate,
        application=app,
        personal_data=personal_data,
    )
