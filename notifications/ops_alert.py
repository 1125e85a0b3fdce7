"""``Mobility ops email``: a Prefect notification block that emails ops over the product's SMTP.

Prefect's own notification blocks speak to chat and paging services (and SendGrid); none sends
through a plain SMTP server. The ops automations (``flows/automations.py``) need one, and the
Prefect *server* runs their actions, so this module is a Prefect collection
(``[project.entry-points."prefect.collections"]`` in pyproject.toml): any Prefect server started
from an environment where Mobility Engine is installed can load the block. It sends directly,
not through the outbox, on purpose: it is the alarm for when the app's own delivery is in
trouble.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from prefect.blocks.abstract import NotificationBlock, NotificationError
from pydantic import Field, SecretStr


class MobilityOpsEmail(NotificationBlock):
    """Email ops (Mobility Engine's automations: a failed sweep or delivery, a dead email)."""

    _block_type_name = "Mobility ops email"
    _block_type_slug = "mobility-ops-email"
    _description = "Emails ops through Mobility Engine's SMTP settings (no TLS needed locally)."

    to: list[str] = Field(title="To", description="The ops addresses (MOBILITY_OPS_EMAIL).")
    mail_from: str = Field(title="From", description="The sender (MOBILITY_MAIL_FROM).")
    smtp_host: str = Field(title="SMTP host", description="MOBILITY_SMTP_HOST (or the catcher).")
    smtp_port: int = Field(default=25, title="SMTP port", description="MOBILITY_SMTP_PORT.")
    starttls: bool = Field(default=False, title="STARTTLS", description="MOBILITY_SMTP_STARTTLS.")
    username: str = Field(default="", title="SMTP user", description="Empty: no login.")
    password: SecretStr = Field(
        default=SecretStr(""), title="SMTP password", description="Empty: no login."
    )

    def message(self, body: str, subject: str | None) -> EmailMessage:
        message = EmailMessage()
        domain = parseaddr(self.mail_from)[1].rpartition("@")[2] or "localhost"
        message["From"] = self.mail_from
        message["To"] = ", ".join(self.to)
        message["Subject"] = " ".join((subject or "Mobility Engine: ops alert").split())
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        return message

    async def notify(self, body: str, subject: str | None = None) -> None:
        import aiosmtplib

        try:
            await aiosmtplib.send(
                self.message(body, subject),
                hostname=self.smtp_host,
                port=self.smtp_port,
                start_tls=self.starttls,
                use_tls=False,
                timeout=30,
                username=self.username or None,
                password=self.password.get_secret_value() if self.username else None,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            if self._raise_on_failure:
                raise NotificationError(log=f"{type(error).__name__}: {error}") from error
            raise
