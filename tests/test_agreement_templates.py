"""A programme's own agreement template: only a file inside the templates folder, rendered in
Jinja2's sandbox with the agreement's own facts; the secret key is in no template's reach.

Issue 9, item 1: ``template: /etc/passwd`` or ``../../etc/passwd`` put that file into the
agreement, and ``{{ cycler.__init__.__globals__.os.environ }}`` put MOBILITY_SECRET_KEY there.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import shutil
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, func, select, text, update
from sqlalchemy.orm import Session

from config import Settings
from models import AgreementDocument, Base, Placement, Programme
from states.bootstrap import App, bootstrap
from states.documents.agreement import render_agreement
from states.documents.document import agreement_body
from states.errors import AgreementTemplateError
from states.intake.input_files import load_programme
from states.intake.registration import register_programme
from states.lifecycle.loading import WITH_PEOPLE
from states.lifecycle.transitions import apply_event
from states.tokens import TokenMinter
from states.unit_of_work import ServiceConfig, UnitOfWork
from tests.conftest import EXAMPLES, load_examples, propose_example
from tests.test_cli import Run, cli  # noqa: F401  (the fixture)

ENV_SECRET = "env-secret-5f0c2b9e7d41a8c3"

# Attribute walks towards globals, os, environ, config, self..., as an attacker would try them.
SSTI = [
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ cycler.__init__.__globals__.os.environ['MOBILITY_SECRET_KEY'] }}",
    "{{ joiner.__init__.__globals__.os.environ }}",
    "{{ namespace.__init__.__globals__.os.environ }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ range.__globals__ }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ settings.secret_key }}",
    "{{ request.application.__globals__.__builtins__ }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ placement.__class__.__init__.__globals__ }}",
    "{{ placement|attr('__class__') }}",
    "{{ placement.participant.__dict__ }}",
    "{{ programme.coordinator.__reduce_ex__(2) }}",
    "{{ long_date.func.__globals__ }}",
    "{{ long_date.__call__.__globals__ }}",
    "{{ amount.func.__globals__['format_decimal'].__globals__['os'].environ }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(placement) }}",
    "{{ role_names.__class__.__init__.__globals__ }}",
    "{{ parties.pop() }}",
    "{% include '/etc/passwd' %}",
    "{% include '../secret_key' %}",
    "{% import '../secret_key' as key %}",
    "{% extends '/proc/self/environ' %}",
    "{{ placement.start_date.__class__.__subclasses__() }}",
]


@pytest.fixture
def secret_app(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    """An app whose secret key is generated into var/secret_key, as in development, and an
    environment holding another: both must stay out of every template."""
    monkeypatch.setenv("MOBILITY_SECRET_KEY", ENV_SECRET)
    database = tmp_path / "mobility.db"
    shutil.copy(sqlite_template, database)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        var_dir=tmp_path / "var",
        secret_key=None,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = bootstrap(settings)
    app.settings.agreement_templates_path.mkdir(parents=True)
    load_examples(app)
    yield app
    app.engine.dispose()


def secrets_of(app: App) -> list[str]:
    return [app.settings.resolved_secret_key().decode(), ENV_SECRET]


def programme_with(tmp_path: Path, template: str) -> Path:
    """The example programme of the example proposal, naming ``template``."""
    source = (EXAMPLES / "programme-affiliation.yaml").read_text(encoding="utf-8")
    path = tmp_path / "programme.yaml"
    path.write_text(source.replace("template: affiliation", f"template: {template!r}"), "utf-8")
    return path


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


# --- programme add: the name must stay inside the folder ------------------------------------

ESCAPES = {
    "/etc/passwd": "is an absolute path",
    "/etc/{language}": "is an absolute path",
    "~/.bashrc": "is an absolute path",
    "../../etc/passwd": "climbs out of the templates folder with '..'",
    "../secret_key": "climbs out of the templates folder with '..'",
    "sub/../../secret_key": "climbs out of the templates folder with '..'",
    "passwd.{language}.html": "leads out of the templates folder (a symbolic link)",
    "etc/passwd": "leads out of the templates folder (a symbolic link)",
    "missing.html": "is not a file in",
    "ssti.html": "uses what a template may not (access to attribute '__init__' of",
}


@pytest.mark.parametrize("template", sorted(ESCAPES))
def test_programme_add_refuses_a_template_outside_the_folder_in_one_line(
    cli: Callable[..., Run],  # noqa: F811
    tmp_path: Path,
    template: str,
) -> None:
    assert cli("programme", "add", str(EXAMPLES / "programme-affiliation.yaml")).code == 0
    folder = tmp_path / "var" / "agreement-templates"
    folder.mkdir(parents=True)
    (folder / "passwd.sv.html").symlink_to("/etc/passwd")  # a link inside, pointing out
    (folder / "etc").symlink_to("/etc", target_is_directory=True)
    (folder / "ssti.html").write_text(SSTI[0], encoding="utf-8")
    (tmp_path / "var" / "secret_key").write_text("file-secret-0d9a7c55e1f3b246")
    engine = create_engine(f"sqlite:///{tmp_path / 'mobility.db'}")
    before = row_counts(engine)

    run = cli("programme", "add", str(programme_with(tmp_path, template)))

    assert run.code == 2, run
    lines = run.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in run.err + run.out, run.err
    assert lines[0].startswith(f"error: agreement template {template!r} {ESCAPES[template]}")
    assert "root:" not in run.err and "file-secret" not in run.err
    assert row_counts(engine) == before
    with engine.connect() as connection:  # the programme added first keeps its template
        assert connection.execute(text("SELECT agreement_template FROM programme")).all() == [
            ("affiliation",)
        ]
    engine.dispose()


def test_a_template_inside_the_folder_with_its_partials_and_inner_links_is_used(
    secret_app: App, tmp_path: Path
) -> None:
    app = secret_app
    folder = app.settings.agreement_templates_path
    (folder / "parts").mkdir()
    (folder / "parts" / "head.html").write_text("<h1>{{ programme.name }}</h1>")
    (folder / "own.sv.html").write_text(
        "{% include 'parts/head.html' %}<p>{{ placement.participant.name }}, "
        "{{ long_date(placement.start_date) }}, {{ amount(placement.funding_sek) }} kr</p>"
    )
    (folder / "linked.html").symlink_to(folder / "own.sv.html")  # a link that stays inside
    for name in ("own.{language}.html", "linked.html"):
        programme, source = load_programme(programme_with(tmp_path, name))
        register_programme(app.uow(), programme=programme, source=source)
        with app.reading() as uow:
            stored = uow.session.scalars(select(Programme.agreement_template)).all()
        assert name in stored  # as written: resolved in the folder each time it is used
    ref = propose_example(app)
    for role in ("home_manager", "host_contact"):
        apply_event(app.uow(), reference=ref, event="approve", role=role, actor=role, via="link")
    with app.reading() as uow:
        document = uow.session.scalars(select(AgreementDocument)).one()
    assert (
        "<h1>Affilierad kompetens 2027</h1><p>Daniel Åberg, 1 februari 2027, 0 kr</p>"
        in agreement_body(document.content_html)
    )


# --- the sandbox: nothing secret, whatever the template tries -------------------------------


def _render(app: App, reference: str, template: str) -> str:
    with app.reading() as uow:
        placement = uow.session.scalars(
            select(Placement).where(Placement.reference == reference).options(*WITH_PEOPLE)
        ).one()
        placement.programme.agreement_template = template
        html = render_agreement(
            placement, version=1, templates_dir=app.config.agreement_templates_dir
        ).html
        uow.session.rollback()
    return html


@pytest.mark.parametrize("payload", SSTI)
def test_template_injection_reaches_no_secret_at_add_or_at_render(
    secret_app: App, tmp_path: Path, payload: str
) -> None:
    app = secret_app
    (app.settings.agreement_templates_path / "evil.html").write_text(payload, encoding="utf-8")
    before = row_counts(app.engine)
    programme, source = load_programme(programme_with(tmp_path, "evil.html"))
    with pytest.raises(AgreementTemplateError) as at_add:
        register_programme(app.uow(), programme=programme, source=source)
    assert row_counts(app.engine) == before

    # The database may hold the name from before the rule: rendering refuses it again.
    ref = propose_example(app)
    with pytest.raises(AgreementTemplateError) as at_render:
        _render(app, ref, "evil.html")
    for error in (at_add.value, at_render.value):
        message = str(error)
        assert "\n" not in message and message.startswith("agreement template ")
        for secret in secrets_of(app):
            assert secret not in message


@pytest.mark.parametrize("template", ["/etc/passwd", "../../etc/passwd", "../secret_key"])
def test_a_stored_path_outside_the_folder_refuses_the_step_and_writes_nothing(
    secret_app: App, template: str
) -> None:
    app = secret_app
    with app.uow() as uow:
        uow.session.execute(update(Programme).values(agreement_template=template))
        uow.commit()
    ref = propose_example(app)
    apply_event(
        app.uow(), reference=ref, event="approve", role="home_manager", actor="e", via="cli"
    )
    before = row_counts(app.engine)
    with pytest.raises(AgreementTemplateError, match=r"is an absolute path|climbs out"):
        apply_event(
            app.uow(), reference=ref, event="approve", role="host_contact", actor="j", via="cli"
        )
    assert row_counts(app.engine) == before
    with app.reading() as uow:
        assert uow.session.scalar(select(Placement.state)) == "manager_approval"


def test_a_stored_path_refused_on_the_link_page_saves_nothing_and_logs_one_line(
    secret_app: App,
) -> None:
    """The last approver clicks while the programme names /etc/passwd: a 500 page that says
    nothing was saved (the fault is the programme's), the link stays usable once it is fixed."""
    import httpx

    from tests.test_links import live_links
    from tests.test_web_support import Clock, capturing_logs, served

    app = secret_app
    with app.uow() as uow:
        uow.session.execute(update(Programme).values(agreement_template="/etc/passwd"))
        uow.commit()
    ref = propose_example(app)
    links = live_links(app, ref, "approval")
    apply_event(
        app.uow(), reference=ref, event="approve", role="home_manager", actor="e", via="cli"
    )
    before = row_counts(app.engine)
    with served(app, clock=Clock()) as base, capturing_logs() as logs:  # after uvicorn's setup
        page = httpx.post(f"{base}/l/{links['host_contact']}", data={"decision": "approve"})
    assert page.status_code == 500 and "Nothing was saved" in page.text
    assert "root:" not in page.text and "Traceback" not in page.text
    assert row_counts(app.engine) == before
    errors = [r for r in logs.records if r.levelname == "ERROR"]
    assert [r.getMessage().split(": ")[0] for r in errors] == [
        "no agreement could be written, nothing was saved"
    ]
    assert errors[0].exc_info is None and "is an absolute path" in errors[0].getMessage()
    assert live_links(app, ref, "approval")["host_contact"] == links["host_contact"]  # unused


# --- every Jinja environment of the product: plain values only ------------------------------

FORBIDDEN: tuple[type, ...] = (
    Base,
    Session,
    Engine,
    Settings,
    App,
    UnitOfWork,
    ServiceConfig,
    TokenMinter,
    SecretStr,
    jinja2.Environment,
)
LEAVES = (str, bytes, int, float, bool, type(None), date, datetime)


def _children(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    if isinstance(value, functools.partial):
        return [value.func, *value.args, *value.keywords.values()]
    if inspect.ismethod(value):
        return [value.__self__]
    if inspect.isfunction(value):
        return [cell.cell_contents for cell in value.__closure__ or ()]
    return list(vars(value).values()) if hasattr(value, "__dict__") else []


def offending(value: Any, secrets: list[str], seen: set[int] | None = None) -> list[str]:
    """What in ``value`` is, holds or leads (through data, not code) to a secret or an object
    that reaches the database or the settings."""
    seen = set() if seen is None else seen
    if id(value) in seen or inspect.ismodule(value) or isinstance(value, type):
        return []
    seen.add(id(value))
    if isinstance(value, FORBIDDEN):
        return [type(value).__name__]
    if isinstance(value, str | bytes):
        text_ = value.decode(errors="replace") if isinstance(value, bytes) else value
        return [f"secret in {text_[:40]!r}" for s in secrets if s in text_]
    if isinstance(value, LEAVES):
        return []
    return [found for child in _children(value) for found in offending(child, secrets, seen)]


def test_no_template_context_of_any_environment_holds_a_way_to_the_secret(
    secret_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every context any Jinja template of the product renders with (emails, link pages, the
    agreement), recorded while a placement goes from proposal to agreement, holds plain values."""
    from tests.smtp_server import smtp_server
    from tests.test_delivery import deliver
    from tests.test_links import live_links
    from tests.test_web_support import Clock, served

    app = secret_app
    seen: list[tuple[str, dict[str, Any]]] = []
    original = jinja2.Template.new_context

    def recording(self: jinja2.Template, vars: Any = None, *args: Any, **kwargs: Any) -> Any:
        environment = self.environment
        where = str(getattr(environment.loader, "searchpath", [type(environment).__name__]))
        seen.append((where, {**environment.globals, **dict(vars or {})}))
        return original(self, vars, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "new_context", recording)
    import httpx

    ref = propose_example(app)
    with smtp_server() as server, served(app, clock=Clock()) as base:
        deliver(app, server)
        for raw in live_links(app, ref, "approval").values():
            assert httpx.get(f"{base}/l/{raw}").status_code == 200
            assert httpx.post(f"{base}/l/{raw}", data={"decision": "approve"}).status_code == 200
        for raw in live_links(app, ref, "agreement").values():
            assert httpx.get(f"{base}/l/{raw}").status_code == 200
        deliver(app, server)
    places = {where for where, _ in seen}
    assert any("notifications" in p for p in places), places
    assert any("web" in p for p in places), places
    assert any("agreement" in p for p in places), places
    problems = {
        (where, found) for where, context in seen for found in offending(context, secrets_of(app))
    }
    assert problems == set()
