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
    # --- the desk (issue 12, part 2): programmes, placements, one placement, actions ----------
    "col_funnel": {"sv": "Placeringar per läge", "en": "Placements per stage"},
    "col_budget": {"sv": "Budget", "en": "Budget"},
    "budget_line": {
        "sv": "{committed} av {budget} bundet, {available} kvar",
        "en": "{committed} of {budget} committed, {available} available",
    },
    "budget_pipeline": {"sv": "{amount} i förslag och avtal", "en": "{amount} in the pipeline"},
    "col_overdue": {"sv": "Försenade", "en": "Overdue"},
    "funnel_empty": {"sv": "Inga placeringar ännu", "en": "No placements yet"},
    "funnel_item": {"sv": "{stage}: {count}", "en": "{stage}: {count}"},
    "placements_title": {"sv": "Placeringar", "en": "Placements"},
    "placements_count": {
        "sv": "{count} placeringar visas.",
        "en": "{count} placements shown.",
    },
    "placements_none": {
        "sv": "Inga placeringar stämmer med urvalet.",
        "en": "No placements match the selection.",
    },
    "filter_legend": {"sv": "Urval", "en": "Selection"},
    "filter_stage": {"sv": "Läge", "en": "Stage"},
    "filter_any": {"sv": "Alla", "en": "All"},
    "filter_direction": {"sv": "Riktning", "en": "Direction"},
    "filter_overdue": {"sv": "Bara försenade", "en": "Overdue only"},
    "sort_label": {"sv": "Ordning", "en": "Order"},
    "sort_reference": {"sv": "Efter referens", "en": "By reference"},
    "sort_waiting": {"sv": "Längst väntan först", "en": "Longest waiting first"},
    "filter_button": {"sv": "Visa urvalet", "en": "Show the selection"},
    "col_reference": {"sv": "Referens", "en": "Reference"},
    "col_host": {"sv": "Värdorganisation", "en": "Host organisation"},
    "col_stage": {"sv": "Läge", "en": "Stage"},
    "col_holders": {"sv": "Väntar på", "en": "Waiting for"},
    "col_waiting_since": {"sv": "Väntar sedan", "en": "Waiting since"},
    "business_days": {"sv": "{days} arbetsdagar", "en": "{days} business days"},
    "overdue_mark": {"sv": "Försenad", "en": "Overdue"},
    "escalated_mark": {
        "sv": "Försenad, över gränsen för eskalering",
        "en": "Overdue, past the escalation threshold",
    },
    "holder": {"sv": "{name} ({role})", "en": "{name} ({role})"},
    # one placement
    "back_to_placement": {"sv": "Tillbaka till placeringen", "en": "Back to the placement"},
    "facts_title": {"sv": "Uppgifter", "en": "Details"},
    "fact_programme": {"sv": "Program", "en": "Programme"},
    "fact_home_organisation": {"sv": "Hemorganisation", "en": "Home organisation"},
    "fact_period": {"sv": "Period", "en": "Period"},
    "fact_extent": {"sv": "Omfattning", "en": "Extent"},
    "fact_funding": {"sv": "Finansiering", "en": "Funding"},
    "fact_purpose": {"sv": "Syfte", "en": "Purpose"},
    "period_value": {"sv": "{start} till och med {end}", "en": "{start} to {end} inclusive"},
    "holders_title": {"sv": "Vem ska agera nu", "en": "Who is to act now"},
    "holders_none": {"sv": "Ingen väntas agera just nu.", "en": "Nobody is to act just now."},
    "holders_since": {
        "sv": "Väntar sedan {date} ({days} arbetsdagar).",
        "en": "Waiting since {date} ({days} business days).",
    },
    "history_register": {"sv": "Förslaget registrerades", "en": "Proposal registered"},
    "history_title": {"sv": "Historik", "en": "History"},
    "col_when": {"sv": "När", "en": "When"},
    "col_what": {"sv": "Vad", "en": "What"},
    "col_who": {"sv": "Vem", "en": "Who"},
    "col_via": {"sv": "Genom", "en": "Through"},
    "via_cli": {"sv": "kommandoraden", "en": "the command line"},
    "via_board": {"sv": "tavlan", "en": "the board"},
    "via_link": {"sv": "länk i e-post", "en": "emailed link"},
    "via_flow": {"sv": "schemalagd körning", "en": "scheduled run"},
    "approvals_title": {"sv": "Godkännanden", "en": "Approvals"},
    "col_round": {"sv": "Omgång", "en": "Round"},
    "col_role": {"sv": "Roll", "en": "Role"},
    "col_person": {"sv": "Person", "en": "Person"},
    "col_status": {"sv": "Status", "en": "Status"},
    "col_date": {"sv": "Datum", "en": "Date"},
    "agreement_title": {"sv": "Avtalet", "en": "The agreement"},
    "agreement_none": {"sv": "Inget avtal har skickats ut ännu.", "en": "No agreement is out yet."},
    "col_version": {"sv": "Version", "en": "Version"},
    "emails_title": {"sv": "E-post om placeringen", "en": "Emails about the placement"},
    "emails_none": {"sv": "Ingen e-post ännu.", "en": "No emails yet."},
    "col_kind": {"sv": "Slag", "en": "Kind"},
    "col_to": {"sv": "Till", "en": "To"},
    "col_subject": {"sv": "Ämne", "en": "Subject"},
    "col_queued": {"sv": "Lagd i kö", "en": "Queued"},
    "outbox_pending": {"sv": "i kö", "en": "queued"},
    "outbox_sending": {"sv": "skickas just nu", "en": "being sent"},
    "outbox_sent": {"sv": "skickat {at}", "en": "sent {at}"},
    "outbox_dead": {"sv": "kunde inte levereras", "en": "could not be delivered"},
    "outbox_cancelled": {"sv": "stoppat", "en": "stopped"},
    "answers_title": {"sv": "Svar", "en": "Answers"},
    "answers_none": {
        "sv": "Ingen utvärdering eller avstämning ännu.",
        "en": "No evaluation or check-in yet.",
    },
    "kind_evaluation": {"sv": "Utvärdering", "en": "Evaluation"},
    "kind_checkin": {"sv": "Avstämning", "en": "Check-in"},
    "answers_of": {"sv": "{kind}: {name} ({role})", "en": "{kind}: {name} ({role})"},
    "not_answered": {"sv": "Inte besvarad ännu.", "en": "Not answered yet."},
    "yes": {"sv": "Ja", "en": "Yes"},
    "no": {"sv": "Nej", "en": "No"},
    "no_answer": {"sv": "Inget svar", "en": "No answer"},
    # actions
    "actions_title": {"sv": "Åtgärder", "en": "Actions"},
    "remind_button": {"sv": "Skicka en påminnelse nu", "en": "Send a reminder now"},
    "remind_hint": {
        "sv": "Till var och en som ännu inte har agerat. Deras länkar fortsätter att fungera.",
        "en": "To each person who has not acted yet. Their links keep working.",
    },
    "resend_button": {"sv": "Skicka nya länkar", "en": "Send fresh links"},
    "resend_hint": {
        "sv": "De tidigare länkarna slutar fungera.",
        "en": "The earlier links stop working.",
    },
    "submit_button": {
        "sv": "Skicka in förslaget för godkännande",
        "en": "Submit the proposal for approval",
    },
    "withdraw_button": {"sv": "Återkalla placeringen", "en": "Withdraw the placement"},
    "cancel_button": {"sv": "Avbryt placeringen", "en": "Cancel the placement"},
    "reason_hint": {
        "sv": "Motiveringen visas för de berörda.",
        "en": "The reason is shown to the people involved.",
    },
    "amend_title": {"sv": "Ändra villkoren", "en": "Change the terms"},
    "amend_hint": {
        "sv": "Fyll bara i det som ska ändras. Under avtalsskrivning blir det en ny version av "
        "avtalet som alla parter får godkänna på nytt.",
        "en": "Fill in only what changes. While the agreement waits for acceptance, this makes "
        "a new version that every party is asked to accept again.",
    },
    "amend_start": {"sv": "Första dag", "en": "First day"},
    "amend_end": {"sv": "Sista dag", "en": "Last day"},
    "amend_extent": {"sv": "Procent av arbetstiden", "en": "Percent of working time"},
    "amend_funding": {"sv": "Finansiering i kronor", "en": "Funding in kronor"},
    "amend_button": {"sv": "Spara ändringarna", "en": "Save the changes"},
    "retry_button": {"sv": "Lägg tillbaka i kön", "en": "Put back in the queue"},
    "reminded_title": {"sv": "Påminnelsen skickas", "en": "The reminder is on its way"},
    "reminded_body": {
        "sv": "{reference}: en påminnelse skickas med e-post till {names}.",
        "en": "{reference}: a reminder goes by email to {names}.",
    },
    "resent_title": {"sv": "Nya länkar skickas", "en": "Fresh links are on their way"},
    "resent_body": {
        "sv": "{reference}: nya länkar skickas med e-post till {names}. De tidigare länkarna "
        "fungerar inte längre.",
        "en": "{reference}: fresh links go by email to {names}. The earlier links no longer work.",
    },
    "ended_title": {"sv": "Det är gjort", "en": "It is done"},
    "ended_body": {
        "sv": "{reference} är nu {state}. De berörda får besked med e-post.",
        "en": "{reference} is now {state}. The people involved are told by email.",
    },
    "amended_title": {"sv": "Villkoren är ändrade", "en": "The terms are changed"},
    "amended_body": {"sv": "{reference}: {changes}.", "en": "{reference}: {changes}."},
    "requeued_title": {"sv": "Meddelandet ligger i kön igen", "en": "The message is queued again"},
    "requeued_body": {
        "sv": "Meddelande {id} till {to} skickas vid nästa utskick.",
        "en": "Message {id} to {to} goes out with the next delivery.",
    },
    "bad_selection_body": {
        "sv": "Urvalet i adressen kunde inte läsas. Välj på nytt i formuläret.",
        "en": "The selection in the address could not be read. Choose again in the form.",
    },
    "invalid_body": {
        "sv": "Ingenting har ändrats: {reason}",
        "en": "Nothing was changed: {reason}",
    },
    "invalid_title": {
        "sv": "Uppgifterna kunde inte tas emot",
        "en": "The details could not be accepted",
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
