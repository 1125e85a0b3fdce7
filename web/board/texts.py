"""The board's own words, in Swedish and English. State, role and event words are not here:
they belong to the glossary (issue 10); the board looks them up there."""

from __future__ import annotations

from collections.abc import Mapping

from web.board.texts_desk import DESK_TEXTS
from web.board.texts_intake import INTAKE_TEXTS

LANGUAGES = ("sv", "en")

_COMMON: Mapping[str, Mapping[str, str]] = {
    "site": {
        "sv": "Mobility Engine – samordnarens tavla",
        "en": "Mobility Engine – coordinator's board",
    },
    "skip": {"sv": "Hoppa till innehållet", "en": "Skip to the content"},
    "nav": {"sv": "Tavlan", "en": "The board"},
    "programmes": {"sv": "Program", "en": "Programmes"},
    "signed_in_as": {"sv": "Inloggad som {name}", "en": "Signed in as {name}"},
    "sign_out": {"sv": "Logga ut", "en": "Sign out"},
    "language": {"sv": "Språk", "en": "Language"},
    "dev_banner": {
        "sv": "Utvecklingsinloggning: vem som helst på den här datorn kan logga in som vilken "
        "samordnare som helst. Konfigurera OpenID Connect (MOBILITY_OIDC_ISSUER) innan andra "
        "använder tavlan.",
        "en": "Development sign-in: anyone on this computer can sign in as any coordinator. "
        "Configure OpenID Connect (MOBILITY_OIDC_ISSUER) before anyone else uses the board.",
    },
    # sign-in
    "sign_in_title": {"sv": "Logga in", "en": "Sign in"},
    "sign_in_intro": {
        "sv": "Tavlan är till för programmens samordnare. Logga in med ditt konto vid lärosätet.",
        "en": "The board is for the programmes' coordinators. Sign in with your university "
        "account.",
    },
    "sign_in_button": {
        "sv": "Logga in med ditt lärosäteskonto",
        "en": "Sign in with your university account",
    },
    "dev_sign_in_intro": {
        "sv": "Välj vem du vill logga in som. Inget lösenord krävs: det här fungerar bara på "
        "127.0.0.1.",
        "en": "Choose whom to sign in as. No password is asked: this works on 127.0.0.1 only.",
    },
    "dev_sign_in_who": {"sv": "Logga in som", "en": "Sign in as"},
    "dev_sign_in_button": {"sv": "Logga in", "en": "Sign in"},
    "dev_sign_in_nobody": {
        "sv": "Det finns ingen samordnare att logga in som. Registrera ett program först "
        "(mobility programme add examples/programme-paus.yaml) eller sätt "
        "MOBILITY_DEV_COORDINATOR.",
        "en": "There is no coordinator to sign in as. Register a programme first "
        "(mobility programme add examples/programme-paus.yaml) or set MOBILITY_DEV_COORDINATOR.",
    },
    "dev_sign_in_only_here": {
        "sv": "Utvecklingsinloggningen fungerar bara från den här datorn (127.0.0.1).",
        "en": "The development sign-in works only from this computer (127.0.0.1).",
    },
    "sign_in_failed_title": {"sv": "Inloggningen misslyckades", "en": "Sign-in failed"},
    "sign_in_failed_body": {
        "sv": "Svaret från inloggningstjänsten kunde inte godtas, så du är inte inloggad. Försök "
        "igen; om det händer igen, kontakta den som driver Mobility Engine vid lärosätet.",
        "en": "The answer from the sign-in service could not be accepted, so you are not signed "
        "in. Try again; if it happens again, contact whoever runs Mobility Engine at your "
        "university.",
    },
    "sign_in_unavailable_title": {
        "sv": "Inloggningstjänsten svarar inte",
        "en": "The sign-in service does not answer",
    },
    "sign_in_unavailable_body": {
        "sv": "Försök igen om en stund.",
        "en": "Please try again in a while.",
    },
    "try_again": {"sv": "Försök igen", "en": "Try again"},
    # sign-out
    "signed_out_title": {"sv": "Du är utloggad", "en": "You are signed out"},
    "signed_out_body": {
        "sv": "Din session på tavlan är avslutad. Stäng webbläsaren om datorn delas med andra.",
        "en": "Your session on the board has ended. Close the browser if others use this computer.",
    },
    "sign_in_again": {"sv": "Logga in igen", "en": "Sign in again"},
    "signing_out_at_provider": {
        "sv": "Du loggas nu ut även hos inloggningstjänsten.",
        "en": "You are now being signed out at the sign-in service too.",
    },
    "continue_to_provider": {
        "sv": "Fortsätt till inloggningstjänsten",
        "en": "Continue to the sign-in service",
    },
    # programmes
    "programmes_title": {"sv": "Dina program", "en": "Your programmes"},
    "programmes_all": {
        "sv": "Du är administratör och ser alla program.",
        "en": "You are an administrator and see every programme.",
    },
    "programmes_none": {"sv": "Det finns inga program ännu.", "en": "There are no programmes yet."},
    "col_key": {"sv": "Kod", "en": "Key"},
    "col_name": {"sv": "Namn", "en": "Name"},
    "col_placements": {"sv": "Placeringar", "en": "Placements"},
    "programme_key": {"sv": "Programkod", "en": "Programme key"},
    "programme_placements": {"sv": "Antal placeringar", "en": "Number of placements"},
    "programme_coordinator": {"sv": "Samordnare", "en": "Coordinator"},
    "back_to_programmes": {"sv": "Tillbaka till programmen", "en": "Back to the programmes"},
    # refusals
    "forbidden_title": {"sv": "Du har inte behörighet", "en": "You have no access"},
    "forbidden_none": {
        "sv": "Du är inloggad som {email}, men du är inte samordnare för något program. Be "
        "programmets samordnare att lägga till dig under coordinators i programfilen.",
        "en": "You are signed in as {email}, but you coordinate no programme. Ask the "
        "programme's coordinator to add you under coordinators in the programme file.",
    },
    "forbidden_programme": {
        "sv": "Du är inloggad som {email}, men du är inte samordnare för programmet {name}. "
        "Fråga programmets samordnare, {coordinator} ({coordinator_email}).",
        "en": "You are signed in as {email}, but you do not coordinate the programme {name}. "
        "Ask its coordinator, {coordinator} ({coordinator_email}).",
    },
    "forbidden_admins": {
        "sv": "Administratörer för tavlan: {admins}.",
        "en": "The board's administrators: {admins}.",
    },
    "csrf_title": {"sv": "Formuläret kunde inte tas emot", "en": "The form could not be accepted"},
    "csrf_body": {
        "sv": "Formuläret var för gammalt eller kom inte från tavlan. Ingenting har ändrats. "
        "Ladda om sidan och försök igen.",
        "en": "The form was too old or did not come from the board. Nothing was changed. "
        "Reload the page and try again.",
    },
    "session_over_title": {"sv": "Du är inte inloggad", "en": "You are not signed in"},
    "session_over_body": {
        "sv": "Din session har tagit slut. Ingenting har ändrats. Logga in igen.",
        "en": "Your session has ended. Nothing was changed. Please sign in again.",
    },
    "not_found_title": {"sv": "Sidan finns inte", "en": "Page not found"},
    "not_found_body": {
        "sv": "Det finns inget här med den adressen.",
        "en": "There is nothing here at this address.",
    },
    "refused_title": {"sv": "Det gick inte", "en": "That was not possible"},
    "refused_body": {
        "sv": "Ingenting har ändrats: {reason}",
        "en": "Nothing was changed: {reason}",
    },
    "back_to_programme": {"sv": "Tillbaka till programmet", "en": "Back to the programme"},
    # actions
    "submitted_title": {"sv": "Förslaget är inskickat", "en": "The proposal is submitted"},
    "submitted_body": {
        "sv": "{reference} är inskickat för godkännande. Förfrågningarna skickas med e-post.",
        "en": "{reference} is submitted for approval. The requests go out by email.",
    },
}
BOARD_TEXTS: Mapping[str, Mapping[str, str]] = {**_COMMON, **DESK_TEXTS, **INTAKE_TEXTS}


def text(key: str, language: str, **values: object) -> str:
    return BOARD_TEXTS[key][language].format(**values)


def pick_language(choice: str | None, accept_language: str | None) -> str:
    """The person's choice if they made one, else the first of ours in ``Accept-Language``."""
    if choice in LANGUAGES:
        return str(choice)
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else "sv"
