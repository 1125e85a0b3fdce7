"""The programmes a person may see (funnel, budget, overdue) and one programme's placements.

Part 2 of issue 12 builds its pages and actions the same way: a path under
``/board/programmes/{programme}``, a parameter typed ``AllowedProgramme`` or
``AllowedPlacement`` for access, ``ActingAs`` for the history's actor and via, ``render`` for
the page. The CSRF check of every POST is the router's (``web.board.guard``). The figures are
the follow-up's (``states.followup.figures``), the list is ``mobility list``'s
(``states.lifecycle.queries.list_placements``): nothing is counted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.requests import Request

from models.schemas import ProgrammeOut
from states.access import visible_programmes
from states.followup.figures import build_report
from states.followup.rows import Money
from states.lifecycle.machine import STATES
from states.lifecycle.queries import ListOrder, list_placements, list_programmes
from web.board.context import board_of
from web.board.guard import AllowedProgramme, BoardRefusal, SignedIn
from web.board.rendering import render

router = APIRouter()

DIRECTIONS = ("incoming", "outgoing")
ORDERS: tuple[ListOrder, ...] = ("reference", "waiting")


@dataclass(frozen=True)
class ProgrammeRow:
    programme: ProgrammeOut
    funnel: Mapping[str, int]
    money: Money
    overdue: int


@router.get("/")
def programmes(request: Request, user: SignedIn) -> Response:
    board = board_of(request)
    shown = visible_programmes(board.app.reading(), user)
    if not shown and not user.admin:
        raise BoardRefusal(403, "forbidden_title", "forbidden_none", {"email": user.email})
    now = board.clock()
    rows = []
    for programme in shown:
        report = build_report(board.app.reading(), programme=programme.key, as_of=now)
        overdue = list_placements(
            board.app.reading(), as_of=now, programme=programme.key, overdue=True, limit=None
        )
        rows.append(ProgrammeRow(programme, report.funnel, report.money, len(overdue)))
    return render(request, "board/programmes.html", user=user, programmes=rows)


@dataclass(frozen=True)
class Selection:
    """The placements list's filters, from the query string; anything else is refused."""

    stage: str | None
    direction: str | None
    overdue: bool
    order: ListOrder
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> Selection:
        query = request.query_params
        stage = query.get("stage") or None
        direction = query.get("direction") or None
        orders: dict[str, ListOrder] = {order: order for order in ORDERS}
        order = orders.get(query.get("sort") or "reference")
        page = query.get("page") or "1"
        if (
            order is None
            or (stage is not None and stage not in STATES)
            or (direction is not None and direction not in DIRECTIONS)
            or query.get("overdue", "1") != "1"
            or not (page.isascii() and page.isdigit() and 0 < int(page) < 10**6)
        ):
            raise BoardRefusal(400, "invalid_title", "bad_selection_body")
        return cls(stage, direction, query.get("overdue") == "1", order, int(page))

    def query(self, page: int) -> str:
        """This selection's query string at ``page`` (the paging links keep the filters)."""
        chosen = {"stage": self.stage, "direction": self.direction, "sort": self.order}
        chosen |= {"overdue": "1" if self.overdue else None, "page": str(page)}
        return urlencode({k: v for k, v in chosen.items() if v})


@dataclass(frozen=True)
class Paging:
    """One page of the list: which rows of how many, and the pages either side."""

    page: int
    pages: int
    first: int
    last: int
    total: int
    size: int

    @classmethod
    def of(cls, selection: Selection, *, total: int, size: int) -> Paging:
        pages = max(1, -(-total // size))
        if selection.page > pages:
            raise BoardRefusal(404, "not_found_title", "not_found_body")
        first = (selection.page - 1) * size
        return cls(selection.page, pages, first + 1, min(first + size, total), total, size)

    @property
    def next_size(self) -> int:
        return min(self.size, self.total - self.last)


@router.get("/programmes/{programme}")
def programme_page(request: Request, access: AllowedProgramme, user: SignedIn) -> Response:
    """The programme's placements: who holds each up, since when, overdue; filtered, sorted."""
    board = board_of(request)
    selection = Selection.of(request)
    found = [p for p in list_programmes(board.app.reading()) if p.key == access.key]
    placements = list_placements(
        board.app.reading(),
        as_of=board.clock(),
        programme=access.key,
        state=selection.stage,
        direction=selection.direction,
        overdue=selection.overdue,
        order=selection.order,
        limit=None,
    )
    size = board.app.settings.board_page_size
    paging = Paging.of(selection, total=len(placements), size=size)
    return render(
        request,
        "board/programme.html",
        user=user,
        programme=found[0],
        placements=placements[paging.first - 1 : paging.last],
        paging=paging,
        selection=selection,
        stages=STATES,
        directions=DIRECTIONS,
        orders=ORDERS,
    )
