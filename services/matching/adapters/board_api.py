"""`GET /cohorts/{cohort_id}/board`: the matching board, read from its read model
(`board_view`)."""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from kernel.rules import NotFound
from runtime.http import ERROR_RESPONSES, company_or_staff_in, require_own_company, staff_in
from services.matching.adapters.board_view import BoardView

#: Who may read the board.
BoardReader = staff_in("matcher", "admin", "auditor")


async def _board_view(request: Request) -> BoardView:
    view: BoardView = request.app.state.board
    return view


View = Annotated[BoardView, Depends(_board_view)]


class BoardResponse(BaseModel):
    cohort_id: str
    candidates: list[dict[str, Any]] = Field(
        description="Each candidate: `status` (in_pool, on_hold, proposed, confirmed, "
        "withdrawn, removed), the company and course proposed or confirmed, the round, "
        "`decide_by`, the companies that declined them, whether they stated a list."
    )
    companies: list[dict[str, Any]] = Field(
        description="Each registered company: capacity, candidates proposed and confirmed, "
        "`places_open`, whether it stated a list."
    )
    rounds: list[dict[str, Any]] = Field(description="The rounds run, by number.")


router = APIRouter(tags=["matching board"], responses=ERROR_RESPONSES)


@router.get(
    "/cohorts/{cohort_id}/board",
    response_model=BoardResponse,
    summary="The matching board of a cohort: who is proposed where, who is confirmed, "
    "which places are open (matcher, admin, auditor)",
)
async def board(
    cohort_id: Annotated[str, Path(pattern=r"^FY\d{4}(-[A-Z0-9]{1,8})?$")],
    view: View,
    _: BoardReader,
) -> Any:
    found = await view.board(cohort_id)
    return BoardResponse(
        cohort_id=found.cohort_id,
        candidates=found.candidates,
        companies=found.companies,
        rounds=found.rounds,
    )


class CompanyCandidate(BaseModel):
    applicant_id: uuid.UUID
    match_id: uuid.UUID | None
    course: str | None
    round_id: uuid.UUID | None = Field(description="The round that proposed them.")
    decide_by: str | None = Field(description="While proposed: decide by then.")


class CompanyProposals(BaseModel):
    company_id: uuid.UUID
    cohort_id: str
    places_open: int
    proposed: list[CompanyCandidate] = Field(
        description="Candidates awaiting the company's decision: confirm or decline each "
        "with `POST /matches/{match_id}/decision`."
    )
    confirmed: list[CompanyCandidate]


def _own_company_or_staff() -> Any:
    either = company_or_staff_in("matcher", "admin", "auditor")

    async def own(company_id: uuid.UUID, caller: either) -> Any:
        require_own_company(caller, company_id)
        return caller

    return Annotated[Any, Depends(own)]


CompanyReader = _own_company_or_staff()


@router.get(
    "/companies/{company_id}/proposals",
    response_model=CompanyProposals,
    summary="The candidates proposed to a company and awaiting its decision, and those it "
    "confirmed (a user of that company; matcher, admin, auditor)",
)
async def proposals_of_company(company_id: uuid.UUID, view: View, _: CompanyReader) -> Any:
    found = await view.company(company_id)
    if found is None:
        raise NotFound("company_id", "the matching board has no such registered company")
    row, candidates = found
    by_id = {c.key: c.state for c in candidates}

    def entry(applicant_id: str) -> CompanyCandidate:
        state = by_id.get(uuid.UUID(applicant_id), {})
        return CompanyCandidate(
            applicant_id=uuid.UUID(applicant_id),
            match_id=state.get("match_id"),
            course=state.get("course"),
            round_id=state.get("round_id"),
            decide_by=state.get("decide_by"),
        )

    return CompanyProposals(
        company_id=company_id,
        cohort_id=row.cohort_id,
        places_open=row.state["places_open"],
        proposed=[entry(a) for a in row.state["proposed"]],
        confirmed=[entry(a) for a in row.state["confirmed"]],
    )
