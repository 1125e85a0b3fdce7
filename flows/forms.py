"""The run forms of the deployments: what a coordinator fills in the Prefect UI.

Every flow parameter has a title in plain words and a line of help; a closed set of values is a
``Literal`` (a dropdown), a day is a ``date``, free text that may be left out is an empty
string, never a nullable string (the UI shows those as a confusing "None" toggle). The forms
only shape the input: the rules are the intake's (``ProposalIn``, ``TermsChange``) and are
applied inside the flow, so a wrong value is a refusal in words, not a parameter error.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from states.glossary import words

EN = words("en")
AS_PROGRAMME: Final = "as the programme"
"""The choice that leaves a direction or a language to the programme."""


def ask(title: str, description: str, default: Any = ...) -> Any:
    """A flow parameter as the run form shows it. Prefect titles a parameter with its Python
    name; the title in ``json_schema_extra`` replaces it in the schema the UI reads."""
    return Field(default, description=description, json_schema_extra={"title": title})


def acting_as_field() -> Any:
    return ask(
        "Acting as",
        "Your email address as a coordinator of the programme. It is recorded in the "
        "placement's history as who acted; a run by anyone else is refused.",
    )


def reference_field() -> Any:
    return ask("Placement", "The placement's reference, e.g. PL-2027-0001.")


def reason_field(what: str) -> Any:
    return ask(EN.term("reason"), f"Why the placement is {what}; everyone involved reads it.")


def programme_field() -> Any:
    return ask(
        "Programme",
        "The programme's key, as in its programme file (e.g. affilierad-kompetens-2027). "
        "An unknown key is refused with the list of known ones.",
    )


def moment_field(what: str) -> Any:
    return ask(
        "As of",
        f"{what} Leave empty for now; a time without a zone is Swedish time (Europe/Stockholm).",
        None,
    )


Language = Literal["as the programme", "sv", "en"]
Direction = Literal["as the programme", "incoming", "outgoing"]
LANGUAGE_HELP = "sv: Swedish, en: English; by default the programme's language."


def _name(role: str) -> Any:
    return Field(title=f"{EN.role_title(role)}: name", description="First and last name.")


def _email(role: str) -> Any:
    return Field(
        title=f"{EN.role_title(role)}: email", description="Where the emails with links go."
    )


def _language(role: str) -> Any:
    return Field(AS_PROGRAMME, title=f"{EN.role_title(role)}: language", description=LANGUAGE_HELP)


class ProposalForm(BaseModel):
    """One proposal, field by field as a proposals file's columns (``proposals.csv``)."""

    model_config = ConfigDict(extra="forbid")

    programme: str = Field(
        title="Programme",
        description="The programme's key, as in its programme file (e.g. paus-2027).",
    )
    direction: Direction = Field(
        AS_PROGRAMME,
        title="Direction",
        description="incoming: from another organisation to the university; outgoing: from "
        "the university to another organisation. Needed when the programme runs both ways.",
    )
    participant_name: str = _name("participant")
    participant_email: str = _email("participant")
    participant_language: Language = _language("participant")
    home_organisation: str = Field(
        title="Home organisation", description="Where the participant is employed."
    )
    home_manager_name: str = _name("home_manager")
    home_manager_email: str = _email("home_manager")
    host_organisation: str = Field(
        title="Host organisation", description="Where the placement takes place."
    )
    host_contact_name: str = _name("host_contact")
    host_contact_email: str = _email("host_contact")
    host_contact_language: Language = _language("host_contact")
    start: date = Field(title="First day", description="ISO date, e.g. 2027-03-01.")
    end: date = Field(title="Last day", description="ISO date, after the first day.")
    extent_percent: int = Field(
        title="Extent (% of working time)", description="1–100 per cent of working time."
    )
    purpose: str = Field(title="Purpose", description="What the placement is for.")
    development_plan: str = Field(
        "", title="Development plan", description="What the participant will learn (optional)."
    )
    value_for_home: str = Field(
        title="Value for the home organisation", description="What the home organisation gains."
    )
    value_for_host: str = Field(
        title="Value for the host organisation", description="What the host organisation gains."
    )
    student_involvement: str = Field(
        "", title="Student involvement", description="Students involved, if any (optional)."
    )
    funding_sek: int = Field(
        0, title="Funding (SEK)", description="Funding from the programme, in kronor."
    )

    def as_row(self) -> dict[str, Any]:
        """The form as a file's row: "as the programme" and empty cells left out."""
        return {
            key: value
            for key, value in self.model_dump(mode="json").items()
            if value != AS_PROGRAMME
        }
