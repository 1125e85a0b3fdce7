"""Agreement templates: which file a programme may use, and the sandbox it renders in.

A programme names a standard template (``affiliation``, ``secondment``) or a file of its own
inside the agreement templates folder (``MOBILITY_AGREEMENT_TEMPLATES_DIR``): a relative name,
no ``..``, no absolute path, and no symbolic link that leads out of the folder. The name is
checked when the programme is added and again whenever an agreement is rendered (the database
may hold a name from before the rule).

Templates render in Jinja2's immutable sandbox, with no globals, and see only the agreement's
own facts as plain values (``AgreementFacts``): no settings, no environment, no database
objects through which a template could reach the session, the engine or the secret key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from states.errors import AgreementTemplateError

STANDARD_DIR = Path(__file__).parent / "templates" / "agreement"
STANDARD_TEMPLATES = ("affiliation", "secondment")
SETTING = "MOBILITY_AGREEMENT_TEMPLATES_DIR"


@dataclass(frozen=True)
class PartyFacts:
    name: str
    email: str


@dataclass(frozen=True)
class OrganisationFacts:
    name: str


@dataclass(frozen=True)
class ProgrammeFacts:
    key: str
    name: str
    language: str
    coordinator: PartyFacts


@dataclass(frozen=True)
class PlacementFacts:
    """A placement's terms as the templates name them (``placement.participant.name``...)."""

    reference: str
    direction: str
    participant: PartyFacts
    home_organisation: OrganisationFacts
    home_manager: PartyFacts
    host_organisation: OrganisationFacts
    host_contact: PartyFacts
    start_date: date
    end_date: date
    extent_percent: int
    funding_sek: int
    purpose: str
    development_plan: str
    value_for_home: str
    value_for_host: str
    student_involvement: str


@dataclass(frozen=True)
class AgreementFacts:
    """Everything a template sees: the agreement's own variables, nothing else."""

    placement: PlacementFacts
    programme: ProgrammeFacts
    parties: tuple[tuple[str, PartyFacts], ...]
    version: int
    language: str


def _refused(name: str, reason: str, folder: Path | None) -> AgreementTemplateError:
    where = f"a file inside {folder}" if folder else f"a file inside the folder {SETTING} names"
    return AgreementTemplateError(
        f"agreement template {name!r} {reason}; name a standard template "
        f"({', '.join(STANDARD_TEMPLATES)}) or {where} ({SETTING})"
    )


def own_template_path(name: str, *, language: str, folder: Path | None) -> Path:
    """The file of a programme's own template ``name`` (``{language}`` filled in) inside
    ``folder``, or a one-line ``AgreementTemplateError`` saying why not."""
    wanted = name.replace("{language}", language)
    if folder is None:
        raise _refused(name, "is not a standard one and no templates folder is set", None)
    root = folder.resolve()
    if not wanted.strip() or "\x00" in wanted or "\\" in wanted:
        raise _refused(name, "is not a file name", root)
    relative = PurePosixPath(wanted)
    if relative.is_absolute() or PureWindowsPath(wanted).is_absolute() or wanted[0] == "~":
        raise _refused(name, "is an absolute path", root)
    if ".." in relative.parts:
        raise _refused(name, "climbs out of the templates folder with '..'", root)
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise _refused(name, "leads out of the templates folder (a symbolic link)", root)
    if not path.is_file():
        raise _refused(name, f"is not a file in {root}", root)
    return path


def has_text_in(name: str, *, language: str, folder: Path | None) -> bool:
    """Template ``name`` has a text in ``language``: every standard template has both; a
    programme's own has one per language only if its name holds ``{language}`` and that file
    exists (a name that is not allowed is refused, in one line)."""
    if name in STANDARD_TEMPLATES:
        return True
    if "{language}" not in name:
        return False
    try:
        own_template_path(name, language=language, folder=folder)
    except AgreementTemplateError:
        wanted = name.replace("{language}", language)
        if folder is not None and not (folder.resolve() / wanted).exists():
            return False
        raise
    return True


_FACT_FIELDS: Mapping[type, frozenset[str]] = {
    facts: frozenset(field.name for field in fields(facts))
    for facts in (PartyFacts, OrganisationFacts, ProgrammeFacts, PlacementFacts, AgreementFacts)
}


class _FactsSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, reading the facts' own fields without its checks: they are plain
    values (text, numbers, dates, more facts) the checks let through anyway, and checking each
    of a template's ~70 reads was a third of rendering an agreement. Every other attribute
    (a date's, a string's, a name not a field) goes through the sandbox as before."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        known = _FACT_FIELDS.get(type(obj))
        if known is not None and attribute in known:
            return obj.__dict__[attribute]
        return super().getattr(obj, attribute)


def _sandbox(loader: jinja2.BaseLoader, *, auto_reload: bool = True) -> _FactsSandbox:
    env = _FactsSandbox(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=auto_reload,
    )
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict: only the facts
    return env


@lru_cache(maxsize=1)
def _standard_environment() -> ImmutableSandboxedEnvironment:
    # The standard templates ship with the code: no stat() of the file per agreement.
    return _sandbox(jinja2.FileSystemLoader(STANDARD_DIR), auto_reload=False)


def _own_environment(folder: Path | None, language: str) -> ImmutableSandboxedEnvironment:
    """Every name a template loads (itself, an ``include``) passes ``own_template_path``;
    nothing is cached, so a name is checked each time it is rendered."""

    def source(name: str) -> tuple[str, str, Callable[[], bool]]:
        path = own_template_path(name, language=language, folder=folder)
        return path.read_text(encoding="utf-8"), str(path), lambda: False

    env = _sandbox(jinja2.FunctionLoader(source))
    env.cache = None
    return env


@lru_cache(maxsize=8)
def _standard_template(name: str, language: str) -> jinja2.Template:
    return _standard_environment().get_template(f"{name}.{language}.html")


def _template(name: str, language: str, folder: Path | None) -> jinja2.Template:
    if name in STANDARD_TEMPLATES:
        return _standard_template(name, language)
    return _own_environment(folder, language).get_template(name)


def render_template(
    name: str,
    facts: AgreementFacts,
    *,
    folder: Path | None,
    helpers: Mapping[str, Callable[..., str]],
    role_names: Mapping[str, str],
) -> str:
    """The HTML of template ``name`` for ``facts``, or a one-line ``AgreementTemplateError``."""
    context: dict[str, Any] = {
        "placement": facts.placement,
        "programme": facts.programme,
        "parties": list(facts.parties),
        "version": facts.version,
        "language": facts.language,
        "role_names": dict(role_names),
        **helpers,
    }
    try:
        return _template(name, facts.language, folder).render(context)
    except AgreementTemplateError:
        raise
    except jinja2.TemplateSyntaxError as error:
        reason = f"has a syntax error on line {error.lineno}: {error.message or 'invalid'}"
        raise _failed(name, reason) from None
    except SecurityError as error:
        raise _failed(name, f"uses what a template may not ({_first_line(error)})") from None
    except Exception as error:  # the template is the programme's code: any failure is its own
        reason = f"cannot be rendered ({type(error).__name__}: {_first_line(error)})"
        raise _failed(name, reason) from None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _failed(name: str, reason: str) -> AgreementTemplateError:
    return AgreementTemplateError(f"agreement template {name!r} {reason}")
