"""The board's own words, in Swedish and English. State, role and event words are not here:
they belong to the glossary (issue 10); the board looks them up there."""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("sv", "en")

BOARD_TEXTS: Mapping[str, Mapping[str, str]] = {
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
    # intake (issue 12, part 3)
    "intake_link": {"sv": "Lägg till förslag från en fil", "en": "Add proposals from a file"},
    "intake_title": {"sv": "Lägg till förslag", "en": "Add proposals"},
    "intake_intro": {
        "sv": "Ladda upp förslagen till {name} som CSV (kommatecken eller semikolon, som Excel "
        "sparar dem), som Excel-arbetsbok (.xlsx) eller som YAML, med samma kolumner som "
        "examples/proposals.csv. Du får först se varje rad och varje fel; ingenting registreras "
        "förrän du trycker på knappen under förhandsvisningen.",
        "en": "Upload the proposals for {name} as CSV (comma- or semicolon-separated, as Excel "
        "saves them), as an Excel workbook (.xlsx) or as YAML, with the columns of "
        "examples/proposals.csv. You first see every row and every error; nothing is registered "
        "until you press the button below the preview.",
    },
    "intake_file": {"sv": "Fil med förslag", "en": "File of proposals"},
    "intake_file_hint": {
        "sv": "Högst 5 MB: .csv, .tsv, .txt, .xlsx, .yaml eller .yml.",
        "en": "At most 5 MB: .csv, .tsv, .txt, .xlsx, .yaml or .yml.",
    },
    "intake_upload": {"sv": "Förhandsgranska", "en": "Preview"},
    "intake_no_file_title": {"sv": "Ingen fil vald", "en": "No file chosen"},
    "intake_no_file_body": {
        "sv": "Välj en fil med förslag och försök igen. Ingenting har registrerats.",
        "en": "Choose a file of proposals and try again. Nothing was registered.",
    },
    "intake_kind_title": {"sv": "Filen kan inte läsas", "en": "The file cannot be read"},
    "intake_kind_body": {
        "sv": "Tavlan läser .csv, .tsv, .txt, .xlsx, .yaml och .yml, inte {name}. Spara filen "
        "som CSV eller .xlsx och försök igen. Ingenting har registrerats.",
        "en": "The board reads .csv, .tsv, .txt, .xlsx, .yaml and .yml, not {name}. Save the file "
        "as CSV or .xlsx and try again. Nothing was registered.",
    },
    "upload_too_large_title": {"sv": "Filen är för stor", "en": "The file is too large"},
    "upload_too_large_body": {
        "sv": "Tavlan tar emot filer på högst 5 MB. Dela upp förslagen på flera filer, eller "
        "registrera filen med mobility propose. Ingenting har registrerats.",
        "en": "The board takes files of at most 5 MB. Split the proposals into several files, or "
        "register the file with mobility propose. Nothing was registered.",
    },
    "preview_title": {"sv": "Förhandsvisning av {file}", "en": "Preview of {file}"},
    "preview_summary": {
        "sv": "Rader i filen: {rows}; nya: {new}; redan registrerade: {already}; med fel: "
        "{invalid}.",
        "en": "Rows in the file: {rows}; new: {new}; already registered: {already}; with errors: "
        "{invalid}.",
    },
    "preview_nothing_written": {
        "sv": "Ingenting är registrerat än.",
        "en": "Nothing is registered yet.",
    },
    "preview_fix": {
        "sv": "Filen har fel, så ingen rad kan registreras. Rätta raderna nedan i filen och ladda "
        "upp den igen.",
        "en": "The file has errors, so no row can be registered. Correct the rows below in the "
        "file and upload it again.",
    },
    "preview_file_errors": {"sv": "Fel i filen", "en": "Errors in the file"},
    "preview_rows": {"sv": "Raderna i filen", "en": "The rows of the file"},
    "col_row": {"sv": "Rad", "en": "Row"},
    "col_period": {"sv": "Period", "en": "Period"},
    "col_result": {"sv": "Resultat", "en": "Result"},
    "row_new": {"sv": "Ny", "en": "New"},
    "row_registered": {
        "sv": "Redan registrerad ({reference})",
        "en": "Already registered ({reference})",
    },
    "row_repeats": {"sv": "Samma som rad {row}", "en": "Same as row {row}"},
    "row_errors": {"sv": "Fel", "en": "Errors"},
    "register_button": {
        "sv": "Registrera alla {count} förslag i filen",
        "en": "Register all {count} proposals in the file",
    },
    "register_draft": {
        "sv": "Registrera som utkast (skicka inte för godkännande än)",
        "en": "Register as drafts (do not send for approval yet)",
    },
    "register_all_or_nothing": {
        "sv": "Antingen registreras alla rader eller ingen.",
        "en": "Either every row is registered or none is.",
    },
    "upload_again": {"sv": "Ladda upp en rättad fil", "en": "Upload a corrected file"},
    "upload_gone_title": {"sv": "Filen finns inte längre", "en": "The file is no longer here"},
    "upload_gone_body": {
        "sv": "Den uppladdade filen har redan registrerats, ersatts av en senare fil eller sparats "
        "längre än ett dygn. Ladda upp den igen. Ingenting har ändrats.",
        "en": "The uploaded file has already been registered, replaced by a later file or kept "
        "longer than a day. Upload it again. Nothing was changed.",
    },
    "register_failed_title": {"sv": "Ingenting registrerades", "en": "Nothing was registered"},
    "registered_title": {"sv": "Förslagen är registrerade", "en": "The proposals are registered"},
    "registered_summary": {
        "sv": "Nya placeringar: {created}; redan registrerade: {already}.",
        "en": "New placements: {created}; already registered: {already}.",
    },
    "already_registered": {"sv": "redan registrerad", "en": "already registered"},
    # follow-up report
    "report_link": {"sv": "Uppföljning", "en": "Follow-up"},
    "report_downloads": {"sv": "Ladda ned rapporten", "en": "Download the report"},
    "report_downloads_intro": {
        "sv": "Filerna är på programmets språk, som mobility report skriver dem.",
        "en": "The files are in the programme's language, as mobility report writes them.",
    },
    "download_xlsx": {"sv": "Excel-arbetsbok (.xlsx)", "en": "Excel workbook (.xlsx)"},
    "download_md": {"sv": "Markdown (.md)", "en": "Markdown (.md)"},
    "download_json": {"sv": "JSON (.json)", "en": "JSON (.json)"},
    "download_csv": {"sv": "CSV, en fil per tabell", "en": "CSV, one file per table"},
    "chart_alt": {
        "sv": "Diagram: {title}. Siffrorna står i tabellen nedanför.",
        "en": "Chart: {title}. The figures are in the table below.",
    },
    # actions
    "submitted_title": {"sv": "Förslaget är inskickat", "en": "The proposal is submitted"},
    "submitted_body": {
        "sv": "{reference} är inskickat för godkännande. Förfrågningarna skickas med e-post.",
        "en": "{reference} is submitted for approval. The requests go out by email.",
    },
}


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
