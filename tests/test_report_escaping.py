"""What people typed reaches the Markdown report as text, never as markup (issue 9, item 4).

A host organisation named ``<img src=x onerror=…>``, a programme named with a ``|`` and a
``[x](javascript:…)`` link, a decline reason with an image and a line break: the report is
rendered with a CommonMark renderer that passes raw HTML through (markdown-it-py, as GitHub and
Prefect render tables), and the HTML holds no tag, link or image of theirs, and every table row
has as many cells as its header.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from reporting.markdown import report_markdown
from states.bootstrap import App
from states.followup.figures import build_report
from states.intake.input_files import load_programme, load_proposals
from states.intake.registration import register_programme, register_proposals
from states.lifecycle.transitions import apply_event
from tests.conftest import EXAMPLES

PROGRAMME = "hostile-2027"
HOSTILE_PROGRAMME = "Prog <b>bold</b> | [x](javascript:alert(1)) `code` $\\frac{ $"
HOSTILE_HOSTS = (
    "<img src=x onerror=alert(1)>",
    "Evil | Corp [x](javascript:alert(2)) ![p](http://evil.example/p.png)",
)
HOSTILE_REASON = "No <script>alert(3)</script> | <a href='javascript:alert(4)'>here</a>\nline 2"
AS_OF = datetime(2027, 3, 1, 9, tzinfo=UTC)


def hostile_programme(app: App, tmp_path: Path) -> list[str]:
    """A programme and two placements named by an attacker; one declined with a hostile
    reason. Returns the references."""
    data = yaml.safe_load((EXAMPLES / "programme-affiliation.yaml").read_text(encoding="utf-8"))
    data.update(key=PROGRAMME, name=HOSTILE_PROGRAMME)
    (tmp_path / "programme.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    programme, source = load_programme(tmp_path / "programme.yaml")
    register_programme(app.uow(), programme=programme, source=source)
    proposal = yaml.safe_load((EXAMPLES / "proposal.yaml").read_text(encoding="utf-8"))
    rows = [
        {
            **proposal,
            "programme": PROGRAMME,
            "host_organisation": host,
            "participant": {**proposal["participant"], "name": f"<i>{n}</i> | [p](javascript:x)"},
            "start": f"2027-0{n + 2}-01",
        }
        for n, host in enumerate(HOSTILE_HOSTS)
    ]
    (tmp_path / "proposals.yaml").write_text(yaml.safe_dump(rows), encoding="utf-8")
    registered = register_proposals(
        app.uow(),
        proposals=load_proposals(tmp_path / "proposals.yaml"),
        actor="sara",
        via="cli",
        as_of=datetime(2026, 12, 1, 8, tzinfo=UTC),
    )
    references = [r.reference for r in registered]
    apply_event(
        app.uow(),
        reference=references[0],
        event="decline",
        role="home_manager",
        actor="eva",
        via="link",
        comment=HOSTILE_REASON,
        as_of=datetime(2026, 12, 2, 8, tzinfo=UTC),
    )
    return references


CHART = re.compile(r'<img src="charts/\w+\.png" alt="[\w -]+" />')


def assert_inert(markdown: str) -> None:
    """No markup of theirs in the Markdown, nor in the HTML a Markdown renderer makes of it
    (the report's own chart pictures aside)."""
    for raw in ("<img", "<script", "<b>", "<i>", "<a "):
        assert raw not in markdown
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)
    html = CHART.sub("", html)
    for tag in ("<img", "<script", "<b>", "<i>", "<a ", "<code>", ' href="', ' src="'):
        assert tag not in html, tag
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as the text it is
    assert "Evil | Corp [x](javascript:alert(2))" in html
    assert "Prog &lt;b&gt;bold&lt;/b&gt; | [x](javascript:alert(1)) `code` $\\frac{ $" in html
    assert "No &lt;script&gt;alert(3)&lt;/script&gt;" in html and "line 2" in html
    for table in re.findall(r"<table>.*?</table>", html, flags=re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
        widths = {len(re.findall(r"<t[hd][ >]", row)) for row in rows}
        assert len(widths) == 1, table  # no row broken into more cells by a "|"


def test_hostile_names_and_reasons_are_text_in_the_markdown_report(
    app: App, tmp_path: Path
) -> None:
    hostile_programme(app, tmp_path)
    markdown = report_markdown(build_report(app.reading(), programme=PROGRAMME, as_of=AS_OF))
    assert_inert(markdown)
    assert "| Skäl |" in markdown  # the reasons table is there, with the hostile reason


def test_mobility_report_out_writes_an_inert_report_md(app: App, tmp_path: Path) -> None:
    from reporting.writers import write_report

    hostile_programme(app, tmp_path)
    report = build_report(app.reading(), programme=PROGRAMME, as_of=AS_OF)
    written = write_report(report, tmp_path / "report", formats=("md",))
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert_inert(markdown)
    assert len(written) == 5 and markdown.count("](charts/") == 4  # the pictures, and no more
