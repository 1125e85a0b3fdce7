"""The Swedish glossary: every word the product uses to name a state, a role, an event, a
decision or what a decision recorded, and the terms every text shares; and the words the
product does not use, each with the one it uses instead. Only here;
``states.glossary.words("sv")`` reads it."""

from __future__ import annotations

from collections.abc import Mapping

STATES: Mapping[str, str] = {
    # as in "placeringen är nu …"
    "proposal": "ett förslag",
    "manager_approval": "under godkännande",
    "agreement": "under avtalsskrivning",
    "placement": "pågående",
    "evaluation": "under utvärdering",
    "completed": "avslutad",
    "declined": "avslagen",
    "withdrawn": "återkallad",
    "cancelled": "avbruten",
}

STATE_TITLES: Mapping[str, str] = {
    # a label: a report's table and chart, "Placeringar per läge"
    "proposal": "Förslag",
    "manager_approval": "Under godkännande",
    "agreement": "Under avtalsskrivning",
    "placement": "Pågående",
    "evaluation": "Under utvärdering",
    "completed": "Avslutad",
    "declined": "Avslagen",
    "withdrawn": "Återkallad",
    "cancelled": "Avbruten",
}

ROLES: Mapping[str, str] = {
    # as in "du ombeds som …"
    "participant": "deltagare",
    "home_manager": "chef i hemorganisationen",
    "host_contact": "kontaktperson hos värden",
    "coordinator": "samordnare",
}

ROLES_DEFINITE: Mapping[str, str] = {
    # as in "avslagen av …"
    "participant": "deltagaren",
    "home_manager": "chefen i hemorganisationen",
    "host_contact": "kontaktpersonen hos värden",
    "coordinator": "samordnaren",
}

ROLE_TITLES: Mapping[str, str] = {
    # a label: in the agreement, on the link pages, in the emails' summary
    "participant": "Deltagare",
    "home_manager": "Hemorganisationens chef",
    "host_contact": "Värdens kontaktperson",
    "coordinator": "Samordnare",
}

EVENTS: Mapping[str, str] = {
    # what a refused event would have done: "den kan inte längre …"
    "revise": "ändras",
    "submit": "skickas in",
    "approve": "godkännas",
    "decline": "avslås",
    "request_changes": "skickas tillbaka för ändringar",
    "accept": "godkännas av parterna",
    "amend": "ändras i avtalet",
    "end": "avslutas",
    "answer": "utvärderas",
    "close": "stängas",
    "withdraw": "återkallas",
    "cancel": "avbrytas",
}

EVENT_TITLES: Mapping[str, str] = {
    # a label: vad som hände, i en placerings historik på tavlan
    "revise": "Förslaget ändrades",
    "submit": "Förslaget skickades in",
    "approve": "Godkännande lämnades",
    "decline": "Avslag lämnades",
    "request_changes": "Ändringar begärdes",
    "accept": "En part godkände avtalet",
    "amend": "Ny version av avtalet",
    "end": "Placeringsperioden tog slut",
    "answer": "Utvärderingen besvarades",
    "close": "Placeringen stängdes",
    "withdraw": "Återkallelse av placeringen",
    "cancel": "Avbrott i placeringen",
}

DECISIONS: Mapping[str, str] = {
    # the buttons of the link pages
    "approve": "Godkänn",
    "decline": "Avslå",
    "request_changes": "Begär ändringar",
    "accept": "Jag godkänner avtalet",
    "answer": "Skicka svaren",
}

OUTCOMES: Mapping[str, str] = {
    # what a decision recorded
    "approved": "godkänd",
    "declined": "avslagen",
    "changes_requested": "ändringar begärda",
    "accepted": "godkänt",
    "answered": "besvarad",
}

TERMS: Mapping[str, str] = {
    # one term per concept in emails, pages and documents
    "extent": "{percent} % av arbetstiden",
    "reason": "Motivering",  # the label before the reason for a decline, withdrawal, cancellation
    "comment": "Kommentar",  # the label before a comment with a decision
    # what a step row says when it records no decision (``Step.row_status``)
    "waiting": "väntar",
    "void": "ogiltig",
    "no_longer_asked": "behövs inte längre",
}

REFUSALS: Mapping[str, str] = {
    # varför en händelse eller åtgärd inte går; {state} och {event} med orden ovan
    "not_now": "{reference} är {state} och kan inte {event} nu",
    "no_longer": "{reference} är {state} och kan inte längre {event}",
    "decided_by_someone_else": "Någon annan hann före: {reference} är nu {state}",
    "decided_at_the_same_moment": "Någon annan fattade beslut om {reference} i samma stund",
    "reason_required": "En motivering krävs för att placeringen ska kunna {event}",
    "end_too_early": "{reference} kan inte avslutas förrän sista dagen, {end}, är över",
    "close_too_early": (
        "{reference} kan inte stängas före den {due}, då utvärderingen ska vara klar"
    ),
    "withdraw_started": (
        "{reference} har redan börjat ({start}); avbryt placeringen i stället för att återkalla den"
    ),
    "cancel_not_started": (
        "{reference} har inte börjat än ({start}); återkalla placeringen i stället för att "
        "avbryta den"
    ),
    "nothing_to_remind": "{reference} är {state}; ingen har något steg att påminnas om",
    "nothing_to_resend": "{reference} är {state}; ingen har någon länk att använda",
    "nobody_left": "{reference}: alla har redan gjort sitt i det här steget",
    "terms_fixed": (
        "{reference} är {state}; villkoren kan bara ändras i ett förslag eller medan avtalet "
        "väntar på godkännande"
    ),
    "terms_unchanged": "{reference}: villkoren är redan sådana; inget ändrades",
}

NOT_OURS: Mapping[str, str] = {
    # a word (a regular expression, case-insensitive) the product does not write → its own word
    r"\bmejl": "e-post",
    r"\be-?mail": "e-post",
    r"\bkoordinator": "samordnare",
    r"\bdr(?:ogs|as|agits) tillbaka": "återkallades",
    r"\bskäl:": "Motivering:",
    r"\bav heltid": "av arbetstiden",
    r"\bväntar på avtal": "under avtalsskrivning",
    r"\bgodkännande pågår": "under godkännande",
}
