"""Proposal files uploaded to the board, kept on the server between the preview and the one
button that registers them (``models.BoardUpload``): the browser holds only a random token,
good for the session that uploaded the file and the programme it was uploaded to. The file
itself is opened as ``mobility propose`` opens a file (``states.intake.input_files``), from a
temporary copy whose name is ours: nothing the uploader chose becomes a path but the suffix,
and that only from a list."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import BoardUpload
from models.text import single_line
from states.bootstrap import App
from states.intake.input_files import ProposalFile
from web.board.sessions import session_hash

UPLOAD_LIMIT = 5 * 1024 * 1024
"""The largest proposal file the board takes (some 15,000 CSV rows)."""
KEPT_FOR = timedelta(days=1)
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".yaml", ".yml")


@dataclass(frozen=True)
class Upload:
    token: str
    filename: str
    content: bytes


def suffix_of(filename: str) -> str | None:
    """The file's kind, from its name's suffix; None if the board does not read that kind."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    return suffix if suffix in SUFFIXES else None


def shown_name(filename: str) -> str:
    """The uploaded file's own name (no folders), fit to show and to name in errors."""
    return single_line(PurePosixPath(filename.replace("\\", "/")).name)[:200] or "upload"


@contextlib.contextmanager
def proposal_file(upload: Upload) -> Iterator[ProposalFile]:
    """The upload opened as a proposal file, its errors naming the uploaded file."""
    suffix = suffix_of(upload.filename) or ".csv"
    with tempfile.TemporaryDirectory(prefix="mobility-upload-") as folder:
        path = Path(folder) / f"proposals{suffix}"
        path.write_bytes(upload.content)
        yield ProposalFile(path, source=upload.filename)


class UploadStore:
    """Every read and write of uploads, each in its own unit of work."""

    def __init__(self, app: App, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock

    def keep(self, *, secret: str, programme: str, filename: str, content: bytes) -> Upload:
        """Keep the file for this session and programme; the session's earlier uploads, and
        anyone's older than a day, go."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        owner = session_hash(secret)
        with self.app.uow() as uow:
            uow.session.execute(delete(BoardUpload).where(BoardUpload.session_hash == owner))
            self._forget_stale(uow.session, now)
            uow.session.add(
                BoardUpload(
                    token=token,
                    session_hash=owner,
                    programme=programme,
                    filename=filename,
                    content=content,
                    created_at=now,
                )
            )
            uow.commit()
        return Upload(token=token, filename=filename, content=content)

    @staticmethod
    def _forget_stale(session: Session, now: datetime) -> None:
        session.execute(delete(BoardUpload).where(BoardUpload.created_at < now - KEPT_FOR))

    def find(self, *, secret: str, programme: str, token: str) -> Upload | None:
        """The upload, if this session made it for this programme within the last day (the
        older ones of anyone go first)."""
        with self.app.uow() as uow:
            self._forget_stale(uow.session, self.clock())
            uow.commit()
            row = uow.session.scalars(
                select(BoardUpload).where(
                    BoardUpload.token == token,
                    BoardUpload.session_hash == session_hash(secret),
                    BoardUpload.programme == programme,
                    BoardUpload.created_at >= self.clock() - KEPT_FOR,
                )
            ).one_or_none()
            if row is None:
                return None
            return Upload(token=row.token, filename=row.filename, content=row.content)

    def forget(self, token: str) -> None:
        with self.app.uow() as uow:
            uow.session.execute(delete(BoardUpload).where(BoardUpload.token == token))
            uow.commit()
