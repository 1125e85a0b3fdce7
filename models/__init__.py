"""The tables. Framework-free: no Prefect, web, CLI or SMTP imports here."""

from models.base import Base, table_of, utcnow
from models.board import BoardSession, BoardUpload
from models.messaging import ActionToken, OutboxMessage
from models.placement import (
    AgreementAcceptance,
    AgreementDocument,
    Approval,
    EvaluationResponse,
    HistoryEntry,
    Placement,
    ReferenceCounter,
    ReminderLog,
)
from models.programme import Organisation, Person, Programme

__all__ = [
    "ActionToken",
    "AgreementAcceptance",
    "AgreementDocument",
    "Approval",
    "Base",
    "BoardSession",
    "BoardUpload",
    "EvaluationResponse",
    "HistoryEntry",
    "Organisation",
    "OutboxMessage",
    "Person",
    "Placement",
    "Programme",
    "ReferenceCounter",
    "ReminderLog",
    "table_of",
    "utcnow",
]
