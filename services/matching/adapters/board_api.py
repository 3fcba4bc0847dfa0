"""`GET /cohorts/{cohort_id}/board`: the matching board, read from its read model
(`board_view`)."""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from runtime.http import ERROR_RESPONSES, staff_in
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
