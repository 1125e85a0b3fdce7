"""One glossary per language (``sv``, ``en``): the words for every state, role, event and
decision of the product. Emails, link pages, agreements, CLI output, refusals and reports take
their words from ``words(language)``; no other module or template spells them
(``tests/test_glossary.py``). Wording changes are made here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

from states.glossary import en, sv

LANGUAGES = ("sv", "en")


@dataclass(frozen=True)
class Words:
    """The words of one language; a key it does not know is given back as it is."""

    language: str
    states: Mapping[str, str]
    state_titles: Mapping[str, str]
    roles: Mapping[str, str]
    roles_definite: Mapping[str, str]
    role_titles: Mapping[str, str]
    events: Mapping[str, str]
    decisions: Mapping[str, str]
    outcomes: Mapping[str, str]

    def state(self, key: str) -> str:
        return self.states.get(key, key)

    def state_title(self, key: str) -> str:
        """ "Under godkännande", "In placement": a state as a label."""
        return self.state_titles.get(key, key)

    def role(self, key: str) -> str:
        """ "deltagare", "host contact": as in "asked as …"."""
        return self.roles.get(key, key)

    def role_definite(self, key: str) -> str:
        """ "deltagaren", "host contact": as in "declined by (the) …"."""
        return self.roles_definite.get(key, key)

    def role_title(self, key: str) -> str:
        """ "Deltagare", "Home manager": a label."""
        return self.role_titles.get(key, key)

    def event(self, key: str) -> str:
        """What the event does to a placement: "approved", "sent back for changes"."""
        return self.events.get(key, key)

    def decision(self, key: str) -> str:
        """The button that takes the decision: "Godkänn", "Ask for changes"."""
        return self.decisions.get(key, key)

    def outcome(self, key: str) -> str:
        """What a decision recorded: "godkänd", "changes requested"."""
        return self.outcomes.get(key, key)


def _words(language: str, module: ModuleType) -> Words:
    return Words(
        language=language,
        states=module.STATES,
        state_titles=module.STATE_TITLES,
        roles=module.ROLES,
        roles_definite=module.ROLES_DEFINITE,
        role_titles=module.ROLE_TITLES,
        events=module.EVENTS,
        decisions=module.DECISIONS,
        outcomes=module.OUTCOMES,
    )


GLOSSARIES: dict[str, Words] = {"sv": _words("sv", sv), "en": _words("en", en)}


def words(language: str) -> Words:
    """The glossary of ``language``; Swedish for a language the product does not write."""
    return GLOSSARIES.get(language) or GLOSSARIES["sv"]
