"""The placements list in pages (``board_page_size``, 100 by default): the rows of all pages
together are ``mobility list --json``'s, in its order; "previous"/"next" keep the filter and
the sort; a page past the last is a 404, a page that is not a number a 400."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest

from states.bootstrap import App
from tests.board.support import JOHAN, PAUS, BoardServer, board_server, load_board_programmes
from tests.board.test_board_desk import (
    _as_board_shows,
    _board_rows,
    cli,  # noqa: F401  (fixture, over this dev_board)
    signed_in,
    table_rows,
)
from tests.cli_runner import Run
from tests.conftest import EXAMPLES

LIST = f"/board/programmes/{PAUS}"


@pytest.fixture
def dev_board(any_app: App, tmp_path: Path) -> Iterator[BoardServer]:
    """The conftest's board (dev sign-in) with one placement a page; ``cli`` uses it too."""
    load_board_programmes(any_app)
    url = any_app.settings.resolved_database_url
    with board_server(url, tmp_path / "board-var", board_page_size=1) as server:
        yield server


def test_all_pages_together_are_mobility_list(
    dev_board: BoardServer,
    cli: Callable[..., Run],  # noqa: F811  (the fixture imported above)
) -> None:
    assert cli("propose", str(EXAMPLES / "proposals.csv")).code == 0  # two, in paus-2027
    now = datetime.now(UTC) + timedelta(days=4)
    dev_board.clock.now = now
    selections = [("sort=waiting", ["--by-waiting"]), ("", []), ("overdue=1", ["--overdue"])]
    with signed_in(dev_board, JOHAN) as johan:
        for query, flags in selections:
            listed = cli("list", "--programme", PAUS, "--json", "--as-of", now.isoformat(), *flags)
            rows = listed.json()
            assert isinstance(rows, list) and len(rows) == 2
            assert _board_rows(johan, query) == [_as_board_shows(r) for r in rows], query


def test_previous_and_next_keep_the_selection(
    dev_board: BoardServer,
    cli: Callable[..., Run],  # noqa: F811  (the fixture imported above)
) -> None:
    assert cli("propose", str(EXAMPLES / "proposals.csv")).code == 0
    with signed_in(dev_board, JOHAN) as johan:
        first = johan.get(LIST, params={"sort": "waiting", "direction": "outgoing"}).text
        assert "Placering 1–1 av 2 visas (sida 1 av 2)." in first
        assert len(table_rows(first, "placements")) == 1
        assert 'rel="prev"' not in first
        found = re.search(r'<a rel="next" href="\?([^"]*)">Nästa 1</a>', first)
        assert found is not None, first
        following = unescape(found.group(1))
        assert following == "direction=outgoing&sort=waiting&page=2"
        second = johan.get(f"{LIST}?{following}").text
        assert "Placering 2–2 av 2 visas (sida 2 av 2)." in second
        assert 'rel="next"' not in second
        assert '<a rel="prev" href="?direction=outgoing&amp;sort=waiting&amp;page=1">' in second
        assert johan.get(LIST, params={"page": "3"}).status_code == 404
        for nonsense in ("0", "-1", "x", "١"):
            assert johan.get(LIST, params={"page": nonsense}).status_code == 400, nonsense


def test_one_page_says_how_many_as_before(dev_board: BoardServer) -> None:
    with signed_in(dev_board, JOHAN) as johan:
        empty = johan.get(LIST).text
        assert "0 placeringar visas." in empty and 'rel="next"' not in empty
        assert johan.get(LIST, params={"page": "1"}).status_code == 200
        assert johan.get(LIST, params={"page": "2"}).status_code == 404
