"""The report's own words in Swedish and English (headings, column names, chart labels), and
its numbers, amounts, percentages and dates as Babel writes them in the programme's language.
States, roles and decisions come from the glossary (``states.glossary``); nothing here spells
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_compact_decimal, format_decimal, format_percent

from states.dates import BABEL_LOCALES, amount_sek, long_date
from states.glossary import Words, words
from states.lifecycle.steps import STEPS

# Column names of the report's tables (the keys of reporting.tables' rows).
COLUMNS: Mapping[str, Mapping[str, str]] = {
    "state": {"sv": "Läge", "en": "State"},
    "placements": {"sv": "Placeringar", "en": "Placements"},
    "group": {"sv": "Indelning", "en": "Grouped by"},
    "value": {"sv": "Grupp", "en": "Group"},
    "stage": {"sv": "Steg", "en": "Stage"},
    "median_days": {"sv": "Median (dagar)", "en": "Median (days)"},
    "p90_days": {"sv": "90:e percentilen (dagar)", "en": "90th percentile (days)"},
    "reminders": {"sv": "Påminnelser", "en": "Reminders"},
    "escalations": {"sv": "Eskaleringar", "en": "Escalations"},
    "placements_reminded": {"sv": "Placeringar med påminnelse", "en": "Placements reminded"},
    "measure": {"sv": "Mått", "en": "Measure"},
    "out_of": {"sv": "Av", "en": "Out of"},
    "rate": {"sv": "Andel", "en": "Rate"},
    "reference": {"sv": "Ärende", "en": "Case"},
    "event": {"sv": "Beslut", "en": "Decision"},
    "on": {"sv": "Datum", "en": "Date"},
    "reason": {"sv": "Skäl", "en": "Reason"},
    "direction": {"sv": "Riktning", "en": "Direction"},
    "host_organisation": {"sv": "Värdorganisation", "en": "Host organisation"},
    "funding_sek": {"sv": "Finansiering (kr)", "en": "Funding (SEK)"},
    "status": {"sv": "Medel", "en": "Money"},
    "went_ahead": {"sv": "Genomförda", "en": "Went ahead"},
    "first_start": {"sv": "Första start", "en": "First start"},
    "returning": {"sv": "Återkommande", "en": "Returning"},
    "kind": {"sv": "Formulär", "en": "Form"},
    "role": {"sv": "Svarande", "en": "Respondent"},
    "label": {"sv": "Fråga", "en": "Question"},
    "answers": {"sv": "Svar", "en": "Answers"},
    "mean": {"sv": "Medelvärde", "en": "Mean"},
    "median": {"sv": "Median", "en": "Median"},
    "score_1": {"sv": "1", "en": "1"},
    "score_2": {"sv": "2", "en": "2"},
    "score_3": {"sv": "3", "en": "3"},
    "score_4": {"sv": "4", "en": "4"},
    "score_5": {"sv": "5", "en": "5"},
    "yes": {"sv": "Ja", "en": "Yes"},
    "no": {"sv": "Nej", "en": "No"},
    "option": {"sv": "Svarsalternativ", "en": "Option"},
    "ticked": {"sv": "Markerat", "en": "Ticked"},
    "text": {"sv": "Svar", "en": "Answer"},
    "total": {"sv": "Totalt", "en": "Total"},
    "name": {"sv": "Program", "en": "Programme"},
    "programme": {"sv": "Programnyckel", "en": "Programme key"},
    "language": {"sv": "Språk", "en": "Language"},
    "as_of": {"sv": "Per", "en": "As of"},
    "budget_sek": {"sv": "Budget (kr)", "en": "Budget (SEK)"},
    "committed_sek": {"sv": "Bundet (kr)", "en": "Committed (SEK)"},
    "pipeline_sek": {"sv": "Under beredning (kr)", "en": "In the pipeline (SEK)"},
    "released_sek": {"sv": "Frigjort (kr)", "en": "Released (SEK)"},
    "remaining_sek": {"sv": "Kvar (kr)", "en": "Remaining (SEK)"},
    "committed_share": {"sv": "Andel bundet", "en": "Committed share"},
    "host_organisations": {"sv": "Värdorganisationer", "en": "Host organisations"},
    "returning_hosts": {"sv": "Återkommande värdar", "en": "Returning hosts"},
    "first_time_hosts": {"sv": "Nya värdar", "en": "First-time hosts"},
    "evaluations_asked": {"sv": "Utvärderingar skickade", "en": "Evaluations asked"},
    "evaluations_answered": {"sv": "Utvärderingar besvarade", "en": "Evaluations answered"},
    "checkins_asked": {"sv": "Avstämningar skickade", "en": "Check-ins asked"},
    "checkins_answered": {"sv": "Avstämningar besvarade", "en": "Check-ins answered"},
}

# Values in the tables that are the report's own names for things (not glossary words).
VALUES: Mapping[str, Mapping[str, Mapping[str, str]]] = {
    "group": {
        "direction": {"sv": "Riktning", "en": "Direction"},
        "host_organisation": {"sv": "Värdorganisation", "en": "Host organisation"},
    },
    "direction": {
        "incoming": {"sv": "In till lärosätet", "en": "Into the university"},
        "outgoing": {"sv": "Ut från lärosätet", "en": "Out of the university"},
        "both": {"sv": "Båda riktningarna", "en": "Both directions"},
    },
    "stage": {
        "proposal_to_approvals": {
            "sv": "Från förslag till godkännande",
            "en": "From proposal to approval",
        },
        "approvals_to_agreement": {
            "sv": "Från godkännande till avtal",
            "en": "From approval to agreement",
        },
        "proposal_to_agreement": {
            "sv": "Från förslag till avtal",
            "en": "From proposal to agreement",
        },
    },
    "status": {
        "committed": {"sv": "Bundet", "en": "Committed"},
        "pipeline": {"sv": "Under beredning", "en": "In the pipeline"},
        "released": {"sv": "Frigjort", "en": "Released"},
    },
    "kind": {
        "evaluation": {"sv": "Utvärdering", "en": "Evaluation"},
        "checkin": {"sv": "Avstämning", "en": "Check-in"},
    },
    "measure": {
        "submitted": {"sv": "Inskickade för godkännande", "en": "Submitted for approval"},
        "agreement_accepted": {"sv": "Avtalet godkänt av alla", "en": "Agreement accepted by all"},
    },
}

TEXTS: Mapping[str, Mapping[str, str]] = {
    "title": {"sv": "Uppföljning: {name}", "en": "Follow-up: {name}"},
    "as_of_now": {
        "sv": "Läget {moment}. Antal placeringar: {placements}.",
        "en": "As of {moment}. Number of placements: {placements}.",
    },
    "as_of_then": {
        "sv": "Läget {moment}, räknat ur historiken. Antal placeringar: {placements}. "
        "Budgeten är programmets nuvarande.",
        "en": "As of {moment}, from the history. Number of placements: {placements}. The "
        "budget is the programme's current one.",
    },
    "funnel": {"sv": "Placeringar per läge", "en": "Placements per state"},
    "per_direction": {"sv": "Per riktning", "en": "Per direction"},
    "per_host": {"sv": "Per värdorganisation", "en": "Per host organisation"},
    "lead_times": {"sv": "Ledtider", "en": "Lead times"},
    "lead_times_intro": {
        "sv": "Från att förslaget skickades in till att den sista chefen godkände, därifrån "
        "till att den sista parten godkände avtalet, och hela vägen.",
        "en": "From the proposal's first submission to the last manager's approval, from there "
        "to the last party's acceptance of the agreement, and the whole way.",
    },
    "reminders": {"sv": "Påminnelser som behövdes", "en": "Reminders it took"},
    "rates": {"sv": "Utfall", "en": "Outcomes"},
    "rates_intro": {
        "sv": "Andel av placeringarna som skickades in för godkännande.",
        "en": "Out of the placements submitted for approval.",
    },
    "reasons": {"sv": "Skäl som angavs", "en": "Reasons given"},
    "money": {"sv": "Medel", "en": "Money"},
    "money_line": {
        "sv": "Budget {budget}; bundet {committed} ({share}); under beredning {pipeline}; "
        "frigjort {released}; kvar {remaining}.",
        "en": "Budget {budget}; committed {committed} ({share}); in the pipeline {pipeline}; "
        "released {released}; remaining {remaining}.",
    },
    "network": {"sv": "Värdorganisationer", "en": "Host organisations"},
    "network_line": {
        "sv": "{hosts} värdorganisationer: {first} nya, {returning} återkommande (har varit "
        "värd i ett tidigare program).",
        "en": "{hosts} host organisations: {first} first-time, {returning} returning (hosted "
        "in an earlier programme).",
    },
    "evaluation": {"sv": "Utvärdering", "en": "Evaluation"},
    "answered_line": {
        "sv": "Svar som kommit in: {answered}.",
        "en": "Answers received: {answered}.",
    },
    "answered_of": {"sv": "{kind} {answered} av {asked}", "en": "{kind} {answered} of {asked}"},
    "none_asked": {"sv": "inga har skickats ännu", "en": "none asked yet"},
    "yes_no": {
        "sv": "Skulle göra det igen / rekommenderar det",
        "en": "Would do it again / recommend it",
    },
    "options": {"sv": "Vad det ledde till", "en": "What came of it"},
    "texts": {"sv": "Med egna ord", "en": "In their own words"},
    "none": {"sv": "inga", "en": "none"},
    "lead_times_chart": {"sv": "Ledtider", "en": "Lead times"},
    "budget_chart": {"sv": "Budget och medel", "en": "Budget use"},
    "evaluation_chart": {"sv": "Utvärderingen", "en": "Evaluation scores"},
    "count_axis": {"sv": "Antal placeringar", "en": "Number of placements"},
    "days_axis": {
        "sv": "Dagar (låda: kvartiler, morrhår: 10:e–90:e percentilen)",
        "en": "Days (box: quartiles, whiskers: 10th–90th percentile)",
    },
    "amount_axis": {"sv": "Miljoner kronor", "en": "SEK million"},
    "mean_axis": {"sv": "Medelvärde (1–5)", "en": "Mean score (1–5)"},
    "budget_line": {"sv": "Budget {amount}", "en": "Budget {amount}"},
    "no_placements": {"sv": "Inga placeringar ännu", "en": "No placements yet"},
    "no_lead_times": {
        "sv": "Ingen placering har passerat ett steg ännu",
        "en": "No placement has passed a stage yet",
    },
    "no_budget": {
        "sv": "Ingen budget och inga medel ännu",
        "en": "No budget and no funding yet",
    },
    "no_evaluation": {"sv": "Ingen utvärdering besvarad ännu", "en": "No evaluation answered yet"},
}

# Sheet and file names of the tables (a spreadsheet's tab holds at most 31 characters).
TABLE_NAMES: Mapping[str, Mapping[str, str]] = {
    "summary": {"sv": "Sammanfattning", "en": "Summary"},
    "funnel": {"sv": "Per läge", "en": "Per state"},
    "funnel_by_group": {"sv": "Per grupp", "en": "Per group"},
    "lead_times": {"sv": "Ledtider", "en": "Lead times"},
    "reminders": {"sv": "Påminnelser", "en": "Reminders"},
    "rates": {"sv": "Utfall", "en": "Outcomes"},
    "reasons": {"sv": "Skäl", "en": "Reasons"},
    "money": {"sv": "Medel", "en": "Money"},
    "hosts": {"sv": "Värdorganisationer", "en": "Host organisations"},
    "evaluation_scores": {"sv": "Utvärdering, betyg", "en": "Evaluation scores"},
    "evaluation_yes_no": {"sv": "Utvärdering, ja-nej", "en": "Evaluation yes-no"},
    "evaluation_options": {"sv": "Utvärdering, utfall", "en": "Evaluation outcomes"},
    "evaluation_texts": {"sv": "Utvärdering, fritext", "en": "Evaluation texts"},
}

_STEP_STATES = {step.name: step.state for step in STEPS}


@dataclass(frozen=True)
class ReportTexts:
    """The report's words and numbers in one language."""

    language: str

    @property
    def words(self) -> Words:
        return words(self.language)

    @property
    def locale(self) -> str:
        return BABEL_LOCALES.get(self.language, self.language)

    def __call__(self, key: str, **values: Any) -> str:
        return TEXTS[key][self.language].format(**values)

    def column(self, name: str) -> str:
        if name in COLUMNS:
            return COLUMNS[name][self.language]
        return self.words.state_title(name)  # a pivot's column per state

    def table(self, name: str) -> str:
        return TABLE_NAMES[name][self.language]

    def value(self, column: str, value: Any) -> Any:
        """A table cell as people read it: glossary and report words for the product's keys,
        yes/no for booleans; numbers, dates and what people typed unchanged."""
        if isinstance(value, bool):
            return COLUMNS["yes" if value else "no"][self.language]
        if not isinstance(value, str):
            return value
        if column in VALUES and value in VALUES[column]:
            return VALUES[column][value][self.language]
        return self._glossary_value(column, value)

    def _glossary_value(self, column: str, value: str) -> str:
        w = self.words
        if column == "state":
            return w.state_title(value)
        if column == "role":
            return w.role_title(value)
        if column == "stage" and value in _STEP_STATES:  # a reminder's step
            return w.state_title(_STEP_STATES[value])
        if column in ("measure", "event"):
            return self._outcome(value)
        return value

    def _outcome(self, key: str) -> str:
        """A rate's measure or a reason's event, as what it led to."""
        w = self.words
        if key in VALUES["measure"]:
            return VALUES["measure"][key][self.language]
        outcome = {
            "decline": "declined",
            "request_changes": "changes_requested",
            "approve": "approved",
        }
        if key in w.outcomes or key in outcome:
            return w.outcome(outcome.get(key, key)).capitalize()
        return w.state_title({"withdraw": "withdrawn", "cancel": "cancelled"}.get(key, key))

    # --- numbers and dates, as Babel writes them ---------------------------------------

    def number(self, value: float | int, *, decimals: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def amount(self, value: int) -> str:
        """ "2 400 000 kr" / "SEK 2,400,000"."""
        return amount_sek(value, self.language)

    def millions(self, value: float) -> str:
        return format_compact_decimal(
            value, format_type="short", fraction_digits=1, locale=self.locale
        )

    def percent(self, value: float | None) -> str:
        return "–" if value is None else format_percent(value, locale=self.locale)

    def day(self, value: date) -> str:
        return long_date(value, self.language)

    def moment(self, value: datetime) -> str:
        pattern = "d MMMM y 'kl.' HH:mm" if self.language == "sv" else "d MMMM y, HH:mm"
        return format_datetime(value, pattern, tzinfo=value.tzinfo, locale=self.locale)
