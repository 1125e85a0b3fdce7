"""Every text on the pages, in Swedish and English; templates look texts up by key. The words
for states, roles and decisions come from the glossary (``states.glossary``)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from states.dates import amount_sek, long_date
from states.glossary import LANGUAGES, words

# British English writes "1 February 2027", as the issue asks; Babel's "en" would be US order.

TEXTS: Mapping[str, Mapping[str, str]] = {
    "site": {"sv": "Mobility Engine – personrörlighet", "en": "Mobility Engine – staff mobility"},
    "skip": {"sv": "Hoppa till innehållet", "en": "Skip to the content"},
    "hello": {"sv": "Hej {name}", "en": "Hello {name}"},
    "case": {"sv": "Ärende {reference}", "en": "Case {reference}"},
    # approval
    "approval_title": {"sv": "Ta ställning till placeringen", "en": "Decide on the placement"},
    "approval_intro": {
        "sv": "Du ombeds som {role} att ta ställning till placeringen av {participant} hos {host}.",
        "en": "You are asked as {role} to decide on the placement of {participant} at {host}.",
    },
    "co_approver_waiting": {
        "sv": "{name} har inte tagit ställning än",
        "en": "{name} has not decided yet",
    },
    "co_approver_decided": {"sv": "{name}: {outcome} {date}", "en": "{name}: {outcome} on {date}"},
    "details_title": {"sv": "Om placeringen", "en": "About the placement"},
    "funding": {"sv": "Finansiering", "en": "Funding"},
    "no_funding": {"sv": "Ingen", "en": "None"},
    "home": {"sv": "Hemorganisation", "en": "Home organisation"},
    "host": {"sv": "Värdorganisation", "en": "Host organisation"},
    "when": {"sv": "Period", "en": "Period"},
    "period": {"sv": "{start} – {end}", "en": "{start} – {end}"},
    "extent": {"sv": "Omfattning", "en": "Extent"},
    "purpose": {"sv": "Syfte", "en": "Purpose"},
    "development_plan": {"sv": "Utvecklingsplan", "en": "Development plan"},
    "value_for_home": {
        "sv": "Värde för hemorganisationen",
        "en": "Value for the home organisation",
    },
    "value_for_host": {
        "sv": "Värde för värdorganisationen",
        "en": "Value for the host organisation",
    },
    "student_involvement": {"sv": "Studentmedverkan", "en": "Student involvement"},
    "programme": {"sv": "Program", "en": "Programme"},
    "your_decision": {"sv": "Ditt beslut", "en": "Your decision"},
    "comment": {"sv": "Kommentar", "en": "Comment"},
    "comment_hint": {
        "sv": "Krävs om du avslår eller begär ändringar.",
        "en": "Required if you decline or ask for changes.",
    },
    # agreement
    "agreement_title": {"sv": "Godkänn avtalet", "en": "Accept the agreement"},
    "agreement_intro": {
        "sv": "Läs avtalet nedan. Alla parter godkänner samma version av avtalet.",
        "en": "Read the agreement below. Every party accepts the same version of it.",
    },
    "agreement_version": {"sv": "Avtalsversion {version}", "en": "Agreement version {version}"},
    "accept_legend": {"sv": "Godkännande", "en": "Acceptance"},
    "accept_what": {
        "sv": "Med knappen godkänner du version {version} av avtalet, så som det står ovan.",
        "en": "With the button you accept version {version} of the agreement, as it reads above.",
    },
    "checksum_title": {
        "sv": "Kontrollsumma för den som vill kontrollera avtalet",
        "en": "Checksum, for those who want to verify the agreement",
    },
    "checksum_explained": {
        "sv": "Kontrollsumman identifierar exakt det dokument du godkänner. Den sparas med ditt "
        "godkännande och står i sidfoten på PDF-filen som skickas till alla parter när avtalet "
        "är klart.",
        "en": "The checksum identifies exactly the document you accept. It is stored with your "
        "acceptance and printed in the footer of the PDF sent to every party once the agreement "
        "is complete.",
    },
    "checksum": {"sv": "SHA-256", "en": "SHA-256"},
    # evaluation
    "evaluation_title": {"sv": "Utvärdering av placeringen", "en": "Evaluation of the placement"},
    "checkin_title": {"sv": "Avstämning under placeringen", "en": "Check-in during the placement"},
    "evaluation_intro": {
        "sv": "Svara på frågorna nedan. Frågor markerade (krävs) måste besvaras.",
        "en": "Answer the questions below. Questions marked (required) must be answered.",
    },
    "required": {"sv": "(krävs)", "en": "(required)"},
    "yes": {"sv": "Ja", "en": "Yes"},
    "no": {"sv": "Nej", "en": "No"},
    "your_answers": {"sv": "Dina svar", "en": "Your answers"},
    "no_answer": {"sv": "(inget svar)", "en": "(no answer)"},
    "errors_title": {"sv": "Formuläret har fel", "en": "The form has errors"},
    "errors_intro": {
        "sv": "Inget har sparats. Rätta felen nedan och skicka igen.",
        "en": "Nothing was saved. Correct the errors below and send again.",
    },
    "error_prefix": {"sv": "Fel:", "en": "Error:"},
    # confirmation
    "done_title": {
        "sv": "Tack – ditt svar är registrerat",
        "en": "Thank you – your answer is recorded",
    },
    "done_approve": {"sv": "Du har godkänt placeringen.", "en": "You approved the placement."},
    "done_decline": {"sv": "Du har avslagit placeringen.", "en": "You declined the placement."},
    "done_request_changes": {
        "sv": "Du har begärt ändringar.",
        "en": "You asked for changes.",
    },
    "done_accept": {"sv": "Du har godkänt avtalet.", "en": "You accepted the agreement."},
    "done_answer": {"sv": "Dina svar är sparade.", "en": "Your answers are saved."},
    "next_title": {"sv": "Vad händer nu?", "en": "What happens next?"},
    "next_approve_waiting": {
        "sv": "Vi väntar på övriga som ska godkänna. Du får besked via e-post när placeringen "
        "är beslutad.",
        "en": "We are waiting for the other approvers. You will hear by email when the placement "
        "is decided.",
    },
    "next_approve_agreement": {
        "sv": "Alla har godkänt. Avtalet skickas nu via e-post till parterna för godkännande.",
        "en": "Everyone has approved. The agreement is now sent by email to the parties to accept.",
    },
    "next_decline": {
        "sv": "Placeringen är avslagen. Besked går via e-post till {the_participant}, "
        "{the_coordinator} och de andra som skulle godkänna den.",
        "en": "The placement is declined. The {the_participant}, the {the_coordinator} and the "
        "other approvers are told by email.",
    },
    "next_request_changes": {
        "sv": "Dina synpunkter går till {the_coordinator}, som ändrar förslaget. Du får en ny "
        "länk när det skickas in igen.",
        "en": "Your comments go to the {the_coordinator}, who revises the proposal. You will get "
        "a new link when it is submitted again.",
    },
    "next_accept_waiting": {
        "sv": "Vi väntar på att övriga parter godkänner avtalet. Alla får en bekräftelse när "
        "placeringen är klar.",
        "en": "We are waiting for the other parties to accept. Everyone gets a confirmation when "
        "the placement is confirmed.",
    },
    "next_accept_placement": {
        "sv": "Alla parter har godkänt. Placeringen är bekräftad och alla får en bekräftelse via "
        "e-post.",
        "en": "Every party has accepted. The placement is confirmed and everyone gets a "
        "confirmation by email.",
    },
    "next_answer": {
        "sv": "Tack för din medverkan. Svaren används i programmets uppföljning.",
        "en": "Thank you for taking part. The answers are used in the programme's follow-up.",
    },
    "close_page": {"sv": "Du kan stänga sidan.", "en": "You can close this page."},
    # gone (410)
    "gone_title": {
        "sv": "Länken går inte längre att använda",
        "en": "This link can no longer be used",
    },
    "gone_used": {
        "sv": "Länken användes redan {date}.",
        "en": "This link was already used on {date}.",
    },
    "gone_approved": {"sv": "Du godkände detta {date}.", "en": "You approved this on {date}."},
    "gone_declined": {"sv": "Du avslog detta {date}.", "en": "You declined this on {date}."},
    "gone_changes_requested": {
        "sv": "Du begärde ändringar {date}.",
        "en": "You asked for changes on {date}.",
    },
    "gone_accepted": {
        "sv": "Du godkände avtalet {date}.",
        "en": "You accepted the agreement on {date}.",
    },
    "gone_answered": {"sv": "Du svarade {date}.", "en": "You answered on {date}."},
    "gone_decided_by_others": {
        "sv": "Det här steget avslutades {date}; placeringen är nu {state}.",
        "en": "This step ended on {date}; the placement is now {state}.",
    },
    "gone_agreement_changed": {
        "sv": "Avtalet ändrades {date}; en ny länk har skickats.",
        "en": "The agreement changed on {date}; a new link was sent.",
    },
    "gone_expired": {"sv": "Länken gick ut {date}.", "en": "This link expired on {date}."},
    "gone_revoked": {
        "sv": "En ny länk skickades till dig {date}; använd det senaste e-postmeddelandet.",
        "en": "A new link was sent to you on {date}; please use the latest email.",
    },
    "gone_step_over": {"sv": "Det här steget är avslutat.", "en": "This step is over."},
    "gone_withdrawn": {
        "sv": "Placeringen återkallades {date}.",
        "en": "This placement was withdrawn on {date}.",
    },
    "gone_declined_placement": {
        "sv": "Placeringen avslogs {date}.",
        "en": "This placement was declined on {date}.",
    },
    "gone_cancelled": {
        "sv": "Placeringen avbröts {date}.",
        "en": "This placement was cancelled on {date}.",
    },
    "gone_completed": {
        "sv": "Placeringen är avslutad.",
        "en": "This placement is completed.",
    },
    "contact": {
        "sv": "Frågor? Kontakta programmets {coordinator}, {name}, {email}.",
        "en": "Questions? Contact the programme's {coordinator}, {name}, {email}.",
    },
    # the front page (the calendar events' URL), for anyone: both languages
    "front_title": {"sv": "Personrörlighet", "en": "Staff mobility"},
    "front_body": {
        "sv": "Här finns sidorna bakom länkarna i programmets e-post: där tar du ställning till "
        "en placering, godkänner avtalet eller svarar på en utvärdering. Öppna länken i det "
        "e-postmeddelande du har fått; frågor besvaras av programmets {coordinator}.",
        "en": "This is where the links in the programme's emails lead: there you decide on a "
        "placement, accept its agreement or answer an evaluation. Open the link in the email you "
        "received; the programme's {coordinator} answers any questions.",
    },
    # 404, 400, 413
    "not_found_title": {"sv": "Länken finns inte", "en": "This link does not exist"},
    "not_found_body": {
        "sv": "Kontrollera att hela länken från e-postmeddelandet kom med. Hör av dig till "
        "den som skickade meddelandet om det inte hjälper.",
        "en": "Check that the whole link from the email was copied. If that does not help, "
        "contact whoever sent you the email.",
    },
    "too_large_title": {"sv": "För mycket data", "en": "Too much data"},
    "too_large_body": {
        "sv": "Det som skickades var för stort. Korta ned texten och försök igen.",
        "en": "What was sent was too large. Shorten the text and try again.",
    },
    "bad_request_title": {"sv": "Felaktig begäran", "en": "Bad request"},
    "bad_request_body": {
        "sv": "Sidan kunde inte visas för den här begäran.",
        "en": "The page could not be shown for this request.",
    },
    "server_error_title": {"sv": "Något gick fel", "en": "Something went wrong"},
    "server_error_body": {
        "sv": "Inget har sparats. Försök igen om en stund.",
        "en": "Nothing was saved. Please try again in a while.",
    },
}


@lru_cache(maxsize=len(LANGUAGES) + 1)
def _role_words(language: str) -> dict[str, str]:
    """Every role's word, bare and definite ("samordnare", "the_coordinator": "samordnaren"):
    the glossary is fixed for the process, and a page asks for texts some fifty times."""
    glossary = words(language)
    return {
        **{role: glossary.role(role) for role in glossary.roles},
        **{f"the_{role}": glossary.role_definite(role) for role in glossary.roles},
    }


class Texts:
    """``t("key", name=...)`` in one language, for the templates."""

    def __init__(self, language: str, timezone: ZoneInfo) -> None:
        self.language = language if language in LANGUAGES else "sv"
        self.timezone = timezone

    def __call__(self, key: str, **values: object) -> str:
        """The text of ``key``; ``{coordinator}`` and ``{the_coordinator}`` (and so for every
        role) are the glossary's words, as in "programmets samordnare", "till samordnaren"."""
        text = TEXTS[key][self.language]
        if "{" not in text:  # most texts: nothing to fill in
            return text
        return text.format_map(ChainMap(values, _role_words(self.language)))

    def extent(self, percent: int) -> str:
        return words(self.language).term("extent", percent=percent)

    def outcome(self, outcome: str) -> str:
        return words(self.language).outcome(outcome)

    def amount(self, value: int) -> str:
        return amount_sek(value, self.language) if value else self("no_funding")

    def role(self, role: str) -> str:
        return words(self.language).role(role)

    def role_title(self, role: str) -> str:
        return words(self.language).role_title(role)

    def state(self, state: str) -> str:
        return words(self.language).state(state)

    def decision(self, decision: str) -> str:
        return words(self.language).decision(decision)

    def date(self, moment: date | datetime | None) -> str:
        if moment is None:
            return ""
        if isinstance(moment, datetime):
            moment = moment.astimezone(self.timezone).date()
        return long_date(moment, self.language)
