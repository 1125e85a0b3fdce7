"""A refusal on the desk reads in the reader's language: the reason is the glossary's refusal,
not the command line's English message."""

from __future__ import annotations

import pytest

from states.errors import TransitionRefused
from states.glossary import GLOSSARIES
from states.lifecycle.refusals import refused
from tests.board.support import AFFILIATION, SARA, BoardServer, csrf_of, dev_sign_in, visible_text
from tests.conftest import propose_example

ENGLISH_ONLY = ("cannot", "nobody", "already", "decided")


@pytest.mark.parametrize(
    ("language", "said", "not_said"),
    [
        ("sv", "är under godkännande och kan inte skickas in nu", ENGLISH_ONLY),
        ("en", "is waiting for manager approval; it cannot be submitted now", ("kan inte",)),
    ],
)
def test_a_refused_action_says_why_in_the_readers_language(
    dev_board: BoardServer, language: str, said: str, not_said: tuple[str, ...]
) -> None:
    draft = propose_example(dev_board.app, draft=True)
    url = f"/board/programmes/{AFFILIATION}/placements/{draft}/submit"
    with dev_board.client() as client:
        dev_sign_in(client, SARA)
        client.cookies.set("board_language", language)
        token = csrf_of(client.get("/board/").text)
        assert client.post(url, data={"csrf": token}).status_code == 200
        again = client.post(url, data={"csrf": token})
    text = visible_text(again.text)
    assert again.status_code == 409
    assert f"{draft} {said}" in text
    assert not [word for word in not_said if word in text]


def test_every_refusal_has_its_words_in_every_language() -> None:
    keys = {language: set(glossary.refusals) for language, glossary in GLOSSARIES.items()}
    assert keys["sv"] == keys["en"]
    values = {
        "reference": "PL-1",
        "state": "agreement",
        "event": "withdraw",
        "start": "2027-01-01",
        "end": "2027-06-30",
        "due": "2027-08-01",
    }
    for key in keys["en"]:
        error = refused(TransitionRefused, key, **values)
        assert str(error) == error.in_language("en")
        swedish = error.in_language("sv")
        assert swedish != str(error) and "{" not in swedish, key
