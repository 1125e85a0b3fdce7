"""The English glossary: every word the product uses to name a state, a role, an event, a
decision or what a decision recorded, and the terms every text shares; and the words the
product does not use, each with the one it uses instead. Only here;
``states.glossary.words("en")`` reads it.
It also serves the command line and the refusals a coordinator reads there."""

from __future__ import annotations

from collections.abc import Mapping

STATES: Mapping[str, str] = {
    # as in "the placement is now …", "PL-2027-0001 is …"
    "proposal": "a proposal",
    "manager_approval": "waiting for manager approval",
    "agreement": "waiting for the agreement to be accepted",
    "placement": "in placement",
    "evaluation": "in evaluation",
    "completed": "completed",
    "declined": "declined",
    "withdrawn": "withdrawn",
    "cancelled": "cancelled",
}

STATE_TITLES: Mapping[str, str] = {
    # a label: a report's table and chart, "Placements per state"
    "proposal": "Proposal",
    "manager_approval": "Waiting for manager approval",
    "agreement": "Waiting for the agreement",
    "placement": "In placement",
    "evaluation": "In evaluation",
    "completed": "Completed",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
    "cancelled": "Cancelled",
}

ROLES: Mapping[str, str] = {
    # as in "you are asked as …"
    "participant": "participant",
    "home_manager": "manager at the home organisation",
    "host_contact": "host contact",
    "coordinator": "coordinator",
}

ROLES_DEFINITE: Mapping[str, str] = {
    # as in "declined by the …"
    "participant": "participant",
    "home_manager": "manager at the home organisation",
    "host_contact": "host contact",
    "coordinator": "coordinator",
}

ROLE_TITLES: Mapping[str, str] = {
    # a label: in the agreement, on the link pages, in the emails' summary
    "participant": "Participant",
    "home_manager": "Home manager",
    "host_contact": "Host contact",
    "coordinator": "Coordinator",
}

EVENTS: Mapping[str, str] = {
    # what a refused event would have done: "it can no longer be …"
    "revise": "revised",
    "submit": "submitted",
    "approve": "approved",
    "decline": "declined",
    "request_changes": "sent back for changes",
    "accept": "accepted",
    "amend": "amended",
    "end": "ended",
    "answer": "evaluated",
    "close": "closed",
    "withdraw": "withdrawn",
    "cancel": "cancelled",
}

EVENT_TITLES: Mapping[str, str] = {
    # a label: what happened, in a placement's history on the board
    "revise": "Proposal revised",
    "submit": "Proposal submitted",
    "approve": "Approval given",
    "decline": "Decline given",
    "request_changes": "Changes asked for",
    "accept": "Agreement accepted by a party",
    "amend": "Agreement amended",
    "end": "Placement period ended",
    "answer": "Evaluation answered",
    "close": "Placement closed",
    "withdraw": "Placement withdrawn",
    "cancel": "Placement cancelled",
}

DECISIONS: Mapping[str, str] = {
    # the buttons of the link pages
    "approve": "Approve",
    "decline": "Decline",
    "request_changes": "Ask for changes",
    "accept": "I accept the agreement",
    "answer": "Send the answers",
}

OUTCOMES: Mapping[str, str] = {
    # what a decision recorded
    "approved": "approved",
    "declined": "declined",
    "changes_requested": "changes requested",
    "accepted": "accepted",
    "answered": "answered",
}

TERMS: Mapping[str, str] = {
    # one term per concept in emails, pages and documents
    "extent": "{percent} % of working time",
    "reason": "Reason",  # the label before the reason for a decline, withdrawal, cancellation
    "comment": "Comment",  # the label before a comment with a decision
    # what a step row says when it records no decision (``Step.row_status``)
    "waiting": "waiting",
    "void": "void",
    "no_longer_asked": "no longer asked",
}

REFUSALS: Mapping[str, str] = {
    # why an event or an action cannot happen; {state} and {event} are worded as above
    "not_now": "{reference} is {state}; it cannot be {event} now",
    "no_longer": "{reference} is {state}; it can no longer be {event}",
    "decided_by_someone_else": "{reference} was already decided by someone else: it is now {state}",
    "decided_at_the_same_moment": (
        "{reference} was already decided by someone else at the same moment"
    ),
    "reason_required": "{event}: a reason is required",
    "end_too_early": "{reference} cannot end before its last day {end} is over",
    "close_too_early": "{reference} cannot be closed before its evaluation is due on {due}",
    "withdraw_started": "{reference} has started ({start}); cancel it instead of withdrawing it",
    "cancel_not_started": (
        "{reference} has not started yet ({start}); withdraw it instead of cancelling it"
    ),
    "nothing_to_remind": "{reference} is {state}; nobody has a step to be reminded of",
    "nothing_to_resend": "{reference} is {state}; nobody has a link to act on",
    "nobody_left": "{reference}: nobody still has to act in this step",
    "terms_fixed": (
        "{reference} is {state}; its terms can be changed only in a proposal or while the "
        "agreement waits for acceptance"
    ),
    "terms_unchanged": "{reference}: the terms already read so; nothing changed",
}

NOT_OURS: Mapping[str, str] = {
    # a word (a regular expression, case-insensitive) the product does not write → its own word
    r"\be-mail": "email",
    r"\bco-ordinator": "coordinator",
    r"\bof full time": "of working time",
    r"\bretracted|\bpulled back": "withdrawn",
    r"\bjustification|\bmotivation:": "Reason",
}
