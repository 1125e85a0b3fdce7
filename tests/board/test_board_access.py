"""Who sees what (issue 12): a coordinator of programme A gets 403/404 for every page and action
of programme B. The routes are read from the app's own route table, so a board route added
later is checked as soon as it exists — and this test fails until it says how to call it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from models import HistoryEntry, OutboxMessage, Placement
from states.access import BoardUser, ProgrammeAccess, is_admin, may_see, parse_admins
from states.bootstrap import App
from states.lifecycle.loading import load_for_update
from states.lifecycle.outbox import queue_message
from tests.board.support import (
    AFFILIATION,
    JOHAN,
    PAUS,
    SARA,
    BoardServer,
    csrf_of,
    dev_sign_in,
    visible_text,
)
from tests.conftest import propose_example
from web.app import create_app


@dataclass(frozen=True)
class Scoped:
    """A route of one programme: how to call it (form fields, other path parameters)."""

    form: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NotScoped:
    """A route of no programme, and why it shows nothing of any programme."""

    why: str


HOW_TO_CALL: dict[tuple[str, str], Scoped | NotScoped] = {
    ("GET", "/board"): NotScoped("redirects to /board/"),
    ("GET", "/board/"): NotScoped("lists only the programmes may_see allows (tested below)"),
    ("GET", "/board/login"): NotScoped("the sign-in page"),
    ("GET", "/board/auth/start"): NotScoped("the redirect to the identity provider"),
    ("GET", "/board/auth/callback"): NotScoped("the identity provider's redirect back"),
    ("POST", "/board/login/dev"): NotScoped("the development sign-in"),
    ("POST", "/board/logout"): NotScoped("ends one's own session"),
    ("GET", "/board/signed-out"): NotScoped("a page without data"),
    ("POST", "/board/language"): NotScoped("sets one's own language cookie"),
    ("GET", "/board/programmes/{programme}"): Scoped(),
    ("GET", "/board/programmes/{programme}/placements/{reference}"): Scoped(),
    ("POST", "/board/programmes/{programme}/placements/{reference}/submit"): Scoped(),
    ("POST", "/board/programmes/{programme}/placements/{reference}/remind"): Scoped(),
    ("POST", "/board/programmes/{programme}/placements/{reference}/resend"): Scoped(),
    ("POST", "/board/programmes/{programme}/placements/{reference}/withdraw"): Scoped(
        form={"reason": "Another time"}
    ),
    ("POST", "/board/programmes/{programme}/placements/{reference}/cancel"): Scoped(
        form={"reason": "Another time"}
    ),
    ("POST", "/board/programmes/{programme}/placements/{reference}/amend"): Scoped(
        form={"extent_percent": "30"}
    ),
    ("POST", "/board/programmes/{programme}/placements/{reference}/outbox/{outbox_id}/retry"): (
        Scoped()
    ),
    ("GET", "/board/programmes/{programme}/intake"): Scoped(),
    ("POST", "/board/programmes/{programme}/intake"): Scoped(),  # no file: 400 for its own
    ("POST", "/board/programmes/{programme}/intake/register"): Scoped(form={"upload": "x"}),
    ("GET", "/board/programmes/{programme}/report"): Scoped(),
    ("GET", "/board/programmes/{programme}/report/charts/{chart}.png"): Scoped(
        params={"chart": "funnel"}
    ),
    ("GET", "/board/programmes/{programme}/report/download/{file}"): Scoped(
        params={"file": "report.xlsx"}
    ),
}


def board_routes(app: App) -> set[tuple[str, str]]:
    """(method, path) of every route under /board, included routers' routes with their prefix."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(create_app(app, dev_mail=False).routes):
        if route.path is not None and route.path.startswith("/board"):
            found.update((method, route.path) for method in route.methods or ())
    assert found, "no board route found: has the route table's shape changed?"
    return found


def test_every_board_route_says_how_to_call_it(programmes: App) -> None:
    routes = board_routes(programmes)
    missing = sorted(routes - HOW_TO_CALL.keys())
    assert not missing, f"add these board routes to HOW_TO_CALL in {__file__}: {missing}"
    stale = sorted(HOW_TO_CALL.keys() - routes)
    assert not stale, f"these routes are gone, remove them from HOW_TO_CALL: {stale}"
    for (method, path), how in HOW_TO_CALL.items():
        if "{programme}" in path or "{reference}" in path:
            assert isinstance(how, Scoped), f"{method} {path} names a programme: it is Scoped"
        if "{reference}" in path:
            assert "{programme}" in path, f"{path}: a placement's route names its programme"


def _counts(app: App) -> tuple[list[tuple[str, str, int]], int, int]:
    with app.reading() as uow:
        session = uow.session
        placements = [
            (p.reference, p.state, p.version)
            for p in session.scalars(select(Placement).order_by(Placement.reference))
        ]
        history = session.scalar(select(func.count()).select_from(HistoryEntry)) or 0
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    return placements, history, outbox


def _dead_message(app: App, reference: str) -> str:
    """A message about ``reference`` that could not be delivered (for the retry route)."""
    with app.uow() as uow:
        placement = load_for_update(uow.session, reference)
        message = queue_message(
            uow,
            kind="approval_request",
            person=placement.home_manager,
            placement=placement,
            now=datetime.now(UTC),
        )
        message.status = "dead"
        uow.session.flush()
        outbox_id = str(message.id)
        uow.commit()
    return outbox_id


def _call(client: object, method: str, path: str, how: Scoped, values: dict[str, str]) -> int:
    import httpx

    assert isinstance(client, httpx.Client)
    url = path.format(**{**how.params, **values})
    if method == "GET":
        return client.get(url).status_code
    csrf = csrf_of(client.get("/board/").text)  # a valid token: the programme check must hold
    return client.request(method, url, data={**how.form, "csrf": csrf}).status_code


def test_a_coordinator_of_one_programme_gets_nothing_of_another(dev_board: BoardServer) -> None:
    app = dev_board.app
    sara_draft = propose_example(app, draft=True)  # in affilierad-kompetens-2027, Sara's
    dead = _dead_message(app, sara_draft)
    scoped = {key: how for key, how in HOW_TO_CALL.items() if isinstance(how, Scoped)}
    assert scoped
    before = _counts(app)
    with dev_board.client() as johan:  # coordinates paus-2027 only
        dev_sign_in(johan, JOHAN)
        listing = visible_text(johan.get("/board/").text)
        assert PAUS in listing and AFFILIATION not in listing
        for (method, path), how in scoped.items():
            theirs = {"programme": AFFILIATION, "reference": sara_draft, "outbox_id": dead}
            status = _call(johan, method, path, how, theirs)
            assert status in (403, 404), (method, path, status)
            if "{reference}" in path:  # Sara's placement under Johan's own programme
                mine = {"programme": PAUS, "reference": sara_draft, "outbox_id": dead}
                assert _call(johan, method, path, how, mine) == 404, (method, path)
    assert _counts(app) == before, "a refused request changed something"
    with dev_board.client() as sara:  # the control: the routes do answer their coordinator
        dev_sign_in(sara, SARA)
        for (method, path), how in scoped.items():
            theirs = {"programme": AFFILIATION, "reference": sara_draft, "outbox_id": dead}
            status = _call(sara, method, path, how, theirs)
            assert status not in (403, 404), (method, path, status)


def test_a_board_action_records_the_signed_in_person_and_via_board(dev_board: BoardServer) -> None:
    app = dev_board.app
    draft = propose_example(app, draft=True)
    with dev_board.client() as sara:
        dev_sign_in(sara, SARA)
        token = csrf_of(sara.get("/board/").text)
        done = sara.post(
            f"/board/programmes/{AFFILIATION}/placements/{draft}/submit", data={"csrf": token}
        )
        assert done.status_code == 200
        assert f"{draft} är inskickat för godkännande" in visible_text(done.text)
        again = sara.post(
            f"/board/programmes/{AFFILIATION}/placements/{draft}/submit", data={"csrf": token}
        )
        assert again.status_code == 409 and "Ingenting har ändrats" in visible_text(again.text)
    with app.reading() as uow:
        last = uow.session.scalars(select(HistoryEntry).order_by(HistoryEntry.id.desc())).first()
        assert last is not None
        assert (last.event, last.actor, last.via) == ("submit", SARA, "board")


# --- the rule itself (pure logic) -------------------------------------------------------------

PROGRAMME = ProgrammeAccess(
    key="p",
    name="P",
    coordinator_name="C",
    coordinator_email="c@univ.example",
    emails=frozenset({"c@univ.example", "co@univ.example"}),
    groups=frozenset({"g-p"}),
)


def user(email: str, *groups: str, admin: bool = False) -> BoardUser:
    return BoardUser(email=email, name=email, groups=frozenset(groups), admin=admin)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (user("c@univ.example"), True),
        (user("co@univ.example"), True),
        (user("x@univ.example", "g-p"), True),
        (user("x@univ.example", "g-other"), False),
        (user("x@univ.example"), False),
        (user("x@univ.example", admin=True), True),
        (user("C@univ.example"), False),  # emails arrive normalised; this one was not
    ],
)
def test_may_see(who: BoardUser, allowed: bool) -> None:
    assert may_see(who, PROGRAMME) is allowed


def test_admins_by_email_or_group() -> None:
    admins = parse_admins(" Karin.Admin@UNIV.example , mobility-admins,, ")
    assert admins == {"karin.admin@univ.example", "mobility-admins"}
    assert is_admin(email="karin.admin@univ.example", groups=[], admins=admins)
    assert is_admin(email="x@univ.example", groups=["mobility-admins"], admins=admins)
    assert not is_admin(email="x@univ.example", groups=["staff"], admins=admins)
    assert not is_admin(email="x@univ.example", groups=[], admins=frozenset())
