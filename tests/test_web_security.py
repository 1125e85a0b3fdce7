"""Security of the link pages, against a real uvicorn server (issue 3, done-means 5)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select, update

from models import ActionToken, Approval, Person, Placement
from states.bootstrap import App
from states.intake.input_files import load_proposals
from states.intake.registration import register_proposals
from states.lifecycle.transitions import apply_event
from states.tokens import hash_token
from tests.conftest import EXAMPLES, load_examples, propose_example
from tests.test_links import live_links, propose_example_variant, version_of
from tests.test_web_support import (
    NOW,
    PROPOSED,
    Clock,
    all_raw_tokens,
    assert_security_headers,
    capturing_logs,
    served,
)


@pytest.fixture
def proposed(any_app: App) -> tuple[App, str]:
    load_examples(any_app)
    return any_app, propose_example(any_app, as_of=PROPOSED)


def test_20_concurrent_posts_on_one_token_make_exactly_one_decision(
    proposed: tuple[App, str],
) -> None:
    app, ref = proposed
    raw = live_links(app, ref, "approval")["home_manager"]
    before = version_of(app, ref)
    with served(app, clock=Clock()) as base:
        start = threading.Barrier(20)

        def post(_: int) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=60) as client:
                start.wait()
                return client.post(f"/l/{raw}", data={"decision": "approve"})

        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(post, range(20)))
    statuses = Counter(r.status_code for r in responses)
    print(f"20 concurrent POSTs on one token ({app.engine.dialect.name}): {dict(statuses)}")
    assert statuses == {200: 1, 410: 19}
    for response in responses:
        assert_security_headers(response)
        if response.status_code == 410:
            assert (
                "This link can no longer be used" in response.text
                or "Länken går inte" in response.text
            )
    assert version_of(app, ref) == before + 1
    with app.reading() as uow:
        decided = uow.session.scalars(select(Approval).where(Approval.decision.is_not(None))).all()
        assert [(a.role, a.decision) for a in decided] == [("home_manager", "approved")]


def test_a_token_with_one_character_changed_is_404(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    raw = live_links(app, ref, "approval")["home_manager"]
    for position in (0, 21, 42):
        swapped = "A" if raw[position] != "A" else "B"
        altered = raw[:position] + swapped + raw[position + 1 :]
        with served(app, clock=Clock()) as base:
            for method in ("GET", "POST"):
                response = httpx.request(
                    method,
                    f"{base}/l/{altered}",
                    data={"decision": "approve"} if method == "POST" else None,
                )
                assert response.status_code == 404
                assert ref not in response.text and "Daniel" not in response.text
                assert_security_headers(response)
    assert version_of(app, ref) == 2


def test_a_token_bound_to_another_placements_step_is_refused(app: App) -> None:
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    other = propose_example_variant(app)
    raw = live_links(app, ref, "approval")["home_manager"]
    versions = version_of(app, ref), version_of(app, other)
    with app.uow() as uow:  # a row pointing at one placement with the step of another
        other_id = uow.session.scalar(select(Placement.id).where(Placement.reference == other))
        uow.session.execute(
            update(ActionToken)
            .where(ActionToken.token_hash == hash_token(raw))
            .values(placement_id=other_id)
        )
        uow.commit()
    with served(app, clock=Clock()) as base:
        page = httpx.get(f"{base}/l/{raw}")
        posted = httpx.post(f"{base}/l/{raw}", data={"decision": "approve"})
    # The link's step is not one of the placement it names: a dead link, said as such (410,
    # whom to contact), on the page and on a POST alike; neither placement moves.
    assert (page.status_code, posted.status_code) == (410, 410)
    assert (version_of(app, ref), version_of(app, other)) == versions


def test_extra_form_fields_cannot_redirect_a_decision(app: App) -> None:
    """The token alone names the placement, person and step; posted fields cannot."""
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    other = propose_example_variant(app)
    raw = live_links(app, ref, "approval")["home_manager"]
    with served(app, clock=Clock()) as base:
        response = httpx.post(
            f"{base}/l/{raw}",
            data={
                "decision": "approve",
                "reference": other,
                "role": "host_contact",
                "placement_id": "2",
            },
        )
    assert response.status_code == 200
    with app.reading() as uow:
        decided = uow.session.execute(
            select(Placement.reference, Approval.role)
            .join(Placement, Placement.id == Approval.placement_id)
            .where(Approval.decision.is_not(None))
        ).all()
    assert [tuple(r) for r in decided] == [(ref, "home_manager")]


def test_link_after_withdrawal_answers_410_with_whom_to_contact(app: App) -> None:
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    links = live_links(app, ref, "approval")
    apply_event(
        app.uow(),
        reference=ref,
        event="withdraw",
        comment="no time",
        actor="sara",
        via="cli",
        as_of=NOW,
    )
    with served(app, clock=Clock()) as base:
        sv = httpx.get(f"{base}/l/{links['home_manager']}")  # Eva: no language → programme's sv
        en = httpx.post(f"{base}/l/{links['host_contact']}", data={"decision": "approve"})
    assert sv.status_code == 410 and en.status_code == 410
    assert "Placeringen återkallades 2 december 2026." in sv.text
    assert "This placement was withdrawn on 2 December 2026." in en.text
    for page in (sv, en):
        assert "Sara Lind" in page.text and "sara.lind@univ.example" in page.text
        assert "<form" not in page.text
        assert_security_headers(page)


def _propose_hostile(app: App) -> str:
    proposal = load_proposals(EXAMPLES / "proposal.yaml")[0]
    hostile = proposal.model_copy(
        update={
            "participant": proposal.participant.model_copy(
                update={"name": "<script>alert(1)</script>", "email": "mallory@evil.example"}
            ),
            "home_manager": proposal.home_manager.model_copy(
                update={"name": "Eva\r\nBcc: x@evil.example", "email": "eva2@evil.example"}
            ),
            "purpose": '<img src=x onerror="alert(2)"> purpose',
        }
    )
    hostile = type(proposal).model_validate(hostile.model_dump())
    return register_proposals(
        app.uow(), proposals=[hostile], actor="sara", via="cli", as_of=PROPOSED
    )[0].reference


def test_hostile_names_are_escaped_on_pages(app: App) -> None:
    load_examples(app)
    ref = _propose_hostile(app)
    with app.uow() as uow:  # a name with CR/LF that got past the input schema, say by an import
        uow.session.execute(
            update(Person)
            .where(Person.email == "eva2@evil.example")
            .values(name="Eva\r\nBcc: x@evil.example")
        )
        uow.commit()
    links = live_links(app, ref, "approval")
    with served(app, clock=Clock()) as base:
        pages = [httpx.get(f"{base}/l/{raw}") for raw in links.values()]
        pages.append(
            httpx.post(
                f"{base}/l/{links['home_manager']}", data={"decision": "decline", "comment": " "}
            )
        )
        pages.append(
            httpx.post(
                f"{base}/l/{links['home_manager']}",
                data={"decision": "x<script>", "comment": "</textarea><script>x"},
            )
        )
        pages.append(httpx.post(f"{base}/l/{links['home_manager']}", data={"decision": "approve"}))
        pages.append(httpx.get(f"{base}/l/{links['home_manager']}"))
    assert [p.status_code for p in pages] == [200, 200, 400, 400, 200, 410]
    for page in pages:
        body = page.text
        assert "<script>" not in body and "<img" not in body and "</textarea><script>" not in body
        assert not any(
            "bcc" in name.lower() or "evil" in value for name, value in page.headers.items()
        )
        assert_security_headers(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0].text
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt; purpose" in pages[0].text
    assert "&lt;/textarea&gt;&lt;script&gt;x" in pages[3].text  # kept what was typed, escaped
    assert "Bcc: x@evil.example" in pages[1].text  # shown as text, harmless


def test_security_headers_on_every_page(app: App) -> None:
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    links = live_links(app, ref, "approval")
    responses: dict[str, httpx.Response] = {}
    with served(app, clock=Clock(), dev_mail=True) as base:
        client = httpx.Client(base_url=base)
        responses["200 page"] = client.get(f"/l/{links['home_manager']}")
        responses["200 head"] = client.head(f"/l/{links['home_manager']}")
        responses["200 healthz"] = client.get("/healthz")
        responses["200 css"] = client.get("/static/style.css")
        responses["200 dev mail"] = client.get("/dev/mail")
        responses["400"] = client.post(f"/l/{links['home_manager']}", data={"decision": "decline"})
        responses["404"] = client.get("/l/nothing-here")
        responses["404 other path"] = client.get("/admin")
        responses["405"] = client.put(f"/l/{links['home_manager']}")
        responses["413"] = client.post(
            f"/l/{links['home_manager']}", data={"decision": "decline", "comment": "x" * 70_000}
        )
        responses["200 done"] = client.post(
            f"/l/{links['home_manager']}", data={"decision": "approve"}
        )
        responses["410"] = client.get(f"/l/{links['home_manager']}")
    with served(app, clock=Clock(), dev_mail=False) as base:
        responses["404 no dev mail"] = httpx.get(f"{base}/dev/mail")
    for label, response in responses.items():
        expected = int(label.split()[0])
        assert response.status_code == expected, label
        assert_security_headers(response)
    assert responses["200 head"].content == b""
    assert "text/html" in responses["404 no dev mail"].headers["content-type"]


def test_head_and_get_change_nothing(proposed: tuple[App, str]) -> None:
    app, ref = proposed
    before = version_of(app, ref)
    links = live_links(app, ref, "approval")
    with served(app, clock=Clock()) as base:
        for raw in links.values():
            assert httpx.head(f"{base}/l/{raw}").status_code == 200
            assert httpx.get(f"{base}/l/{raw}").status_code == 200
            assert httpx.get(f"{base}/l/{raw}").status_code == 200
    assert version_of(app, ref) == before
    assert live_links(app, ref, "approval") == links


def test_no_token_in_any_log_line(app: App) -> None:
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    links = live_links(app, ref, "approval")
    # uvicorn configures its loggers when it starts: capture from then on.
    with served(app, clock=Clock()) as base:
        with capturing_logs() as logs:
            client = httpx.Client(base_url=base)
            for raw in links.values():
                client.head(f"/l/{raw}")
                client.get(f"/l/{raw}?utm=1")
                client.post(f"/l/{raw}", data={"decision": "decline"})  # 400
                client.get(f"/l/{raw[:-1]}x")  # 404
                client.post(f"/l/{raw}", data={"decision": "approve"})
                client.post(f"/l/{raw}", data={"decision": "approve"})  # 410
                client.post(f"/l/{raw}", data={"comment": "y" * 70_000})  # 413
        tokens = all_raw_tokens(app)
    lines = logs.lines()
    assert any("/l/[redacted]" in line for line in lines), lines[:5]
    leaked = [line for line in lines for token in tokens if token in line or token[:-1] in line]
    assert leaked == []
    print(f"{len(lines)} log lines captured, 0 with a token")


def test_bodies_over_64_kib_are_refused_even_without_a_length(app: App) -> None:
    load_examples(app)
    ref = propose_example(app, as_of=PROPOSED)
    raw = live_links(app, ref, "approval")["home_manager"]

    def chunks() -> Iterator[bytes]:  # streamed: no Content-Length to go by
        yield b"decision=decline&comment="
        for _ in range(80):
            yield b"x" * 1024

    with served(app, clock=Clock()) as base:
        streamed = httpx.post(
            f"{base}/l/{raw}",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        files = httpx.post(
            f"{base}/l/{raw}", data={"decision": "approve"}, files={"upload": ("a.txt", b"hello")}
        )
        still_live = httpx.get(f"{base}/l/{raw}")
    assert streamed.status_code == 413 and "För mycket data" in streamed.text
    assert_security_headers(streamed)
    assert files.status_code == 400  # no uploads on these forms
    assert still_live.status_code == 200
    assert version_of(app, ref) == 2
