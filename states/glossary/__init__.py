"""One glossary per language (``sv``, ``en``): the words for every state, role, event and
decision of the product, the terms every text shares (the extent, the label before a reason),
and the words the product does not write, each with its own instead ("mejl" → "e-post").
Emails, link pages, agreements, CLI output, refusals and reports take their words from
``words(language)``; no other module or template spells them (``tests/test_glossary.py``), and
nothing the product shows uses a word it does not write (``tests/test_words.py``). Wording
changes are made here, once.
"""

from __future__ import annotations

import re
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
    event_titles: Mapping[str, str]
    decisions: Mapping[str, str]
    outcomes: Mapping[str, str]
    terms: Mapping[str, str]
    refusals: Mapping[str, str]
    not_ours: Mapping[str, str]
    """A regular expression for a word the product does not write → the word it writes."""

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

    def event_title(self, key: str) -> str:
        """ "Förslaget skickades in", "Agreement amended": an event as a history label."""
        return self.event_titles.get(key, key)

    def decision(self, key: str) -> str:
        """The button that takes the decision: "Godkänn", "Ask for changes"."""
        return self.decisions.get(key, key)

    def outcome(self, key: str) -> str:
        """What a decision recorded: "godkänd", "changes requested"."""
        return self.outcomes.get(key, key)

    def row_status(self, key: str) -> str:
        """What a step row says (``Step.row_status``): what was recorded, or "väntar",
        "ogiltig", "behövs inte längre"."""
        return self.outcomes.get(key) or self.terms.get(key, key)

    def term(self, key: str, **values: object) -> str:
        """A shared term: ``term("extent", percent=20)`` → "20 % av arbetstiden"."""
        return self.terms[key].format(**values)

    def refusal(self, key: str, **values: object) -> str:
        """Why something cannot happen: ``refusal("not_now", reference=…, state=…, event=…)``
        with the state and event already worded."""
        return self.refusals[key].format(**values)

    def words_not_ours(self, text: str) -> list[str]:
        """What in ``text`` is a word the product does not write, with the one it writes."""
        return [
            f"{found.group(0)!r} (write {ours!r})"
            for pattern, ours in self.not_ours.items()
            for found in re.finditer(pattern, text, flags=re.IGNORECASE)
        ]


def _words(language: str, module: ModuleType) -> Words:
    return Words(
        language=language,
        states=module.STATES,
        state_titles=module.STATE_TITLES,
        roles=module.ROLES,
        roles_definite=module.ROLES_DEFINITE,
        role_titles=module.ROLE_TITLES,
        events=module.EVENTS,
        event_titles=module.EVENT_TITLES,
        decisions=module.DECISIONS,
        outcomes=module.OUTCOMES,
        terms=module.TERMS,
        refusals=module.REFUSALS,
        not_ours=module.NOT_OURS,
    )


GLOSSARIES: dict[str, Words] = {"sv": _words("sv", sv), "en": _words("en", en)}


def words(language: str) -> Words:
    """The glossary of ``language``; Swedish for a language the product does not write."""
    return GLOSSARIES.get(language) or GLOSSARIES["sv"]
