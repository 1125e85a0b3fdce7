"""The agreement templates: every term of the issue, both languages, Babel dates, escaping, a
programme's own template file, and `mobility agreement` writing the accepted bytes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from models import AgreementDocument, Programme
from states.bootstrap import App
from states.documents.agreement import current_agreement
from states.errors import AgreementTemplateError, NotFound
from states.lifecycle.transitions import apply_event
from tests.conftest import load_examples, propose_example

ROOT = Path(__file__).resolve().parent.parent

# Words each template must contain for each term the issue lists.
TERMS = {
    ("affiliation", "sv"): [
        "ingen anställning vid lärosätet",
        "Ingen ersättning betalas",
        "1 februari 2027",
        "30 juli 2027",
        "20 %",
        "Utvecklingsplan",
        "fokusområde",
        "handledare",
        "Sekretess",
        "Resultat och rättigheter",
        "Försäkring",
        "Passerkort",
        "IT-konto",
        "lokala regler",
    ],
    ("affiliation", "en"): [
        "no employment at the university",
        "No payment passes",
        "1 February 2027",
        "30 July 2027",
        "20 %",
        "Development plan",
        "focus area",
        "supervisor",
        "Confidentiality",
        "Results and rights",
        "Insurance",
        "access card",
        "IT account",
        "local rules",
    ],
    ("secondment", "sv"): [
        "fortsatt anställd av och får lön från",
        "1 februari 2027",
        "Förväntat resultat för lärosätet",
        "Förväntat resultat för värdorganisationen",
        "Studenternas medverkan",
        "Sekretess",
        "Resultat och rättigheter",
        "Försäkring",
        "Publicering",
    ],
    ("secondment", "en"): [
        "remains employed and paid by",
        "1 February 2027",
        "Expected results for the university",
        "Expected results for the host organisation",
        "Student involvement",
        "Confidentiality",
        "Results and rights",
        "Insurance",
        "Publication",
    ],
}


def _set_programme(app: App, **values: object) -> None:
    with app.uow() as uow:
        uow.session.execute(update(Programme).values(**values))
        uow.commit()


def _approved(app: App) -> str:
    ref = propose_example(app)
    for role in ("home_manager", "host_contact"):
        apply_event(app.uow(), reference=ref, event="approve", role=role, actor=role, via="link")
    return ref


@pytest.mark.parametrize(("template", "language"), sorted(TERMS))
def test_each_template_states_every_term(app: App, template: str, language: str) -> None:
    load_examples(app)
    _set_programme(app, agreement_template=template, language=language)
    ref = _approved(app)
    document = current_agreement(app.reading(), reference=ref)
    missing = [term for term in TERMS[(template, language)] if term not in document.html]
    assert missing == []
    assert (document.template, document.language, document.version) == (template, language, 1)
    assert document.sha256 == hashlib.sha256(document.html.encode()).hexdigest()
    assert "Daniel Åberg" in document.html and "Verktyg &amp; Precision AB" in document.html


def test_a_programme_may_name_its_own_template_file(app: App) -> None:
    load_examples(app)
    folder = app.settings.agreement_templates_path
    folder.mkdir(parents=True)
    (folder / "own.sv.html").write_text(
        "<article>Eget avtal för {{ placement.participant.name }}, "
        "från {{ long_date(placement.start_date) }}, v{{ version }}</article>"
    )
    _set_programme(app, agreement_template="own.{language}.html")
    ref = _approved(app)
    document = current_agreement(app.reading(), reference=ref)
    assert (
        "<article>Eget avtal för Daniel Åberg, från 1 februari 2027, v1</article>" in document.html
    )
    assert document.template == "own.{language}.html"


def test_a_missing_template_file_refuses_the_step_and_changes_nothing(app: App) -> None:
    load_examples(app)
    _set_programme(app, agreement_template="no-such-template.html")
    ref = propose_example(app)
    apply_event(
        app.uow(), reference=ref, event="approve", role="home_manager", actor="e", via="link"
    )
    with pytest.raises(AgreementTemplateError, match=r"'no-such-template\.html' is not a file"):
        apply_event(
            app.uow(), reference=ref, event="approve", role="host_contact", actor="j", via="link"
        )
    with app.reading() as uow:
        assert uow.session.scalars(select(AgreementDocument)).all() == []


def test_no_agreement_yet_is_said_plainly(app: App) -> None:
    load_examples(app)
    ref = propose_example(app)
    with pytest.raises(NotFound, match="has no agreement yet"):
        current_agreement(app.reading(), reference=ref)


def test_mobility_agreement_writes_the_final_document(app: App, tmp_path: Path) -> None:
    load_examples(app)
    ref = _approved(app)
    for role in ("participant", "home_manager", "host_contact"):
        apply_event(app.uow(), reference=ref, event="accept", role=role, actor=role, via="link")
    out = tmp_path / "agreement.html"
    env = {
        **os.environ,
        "MOBILITY_DATABASE_URL": str(app.engine.url),
        "MOBILITY_SECRET_KEY": "test-secret-key",
        "MOBILITY_VAR_DIR": str(tmp_path / "var"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "agreement", ref, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with app.reading() as uow:
        final = uow.session.scalars(select(AgreementDocument)).one()
        assert final.final_at is not None
        assert hashlib.sha256(out.read_bytes()).hexdigest() == final.sha256
    assert f"sha256 {final.sha256}" in done.stderr
    assert "accepted by: participant, home_manager, host_contact" in done.stderr
