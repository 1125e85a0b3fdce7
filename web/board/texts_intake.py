"""The board's words for intake and follow-up (issue 12, part 3), in Swedish and English."""

from __future__ import annotations

from collections.abc import Mapping

INTAKE_TEXTS: Mapping[str, Mapping[str, str]] = {
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
}
