"""E-mail alerts over SMTP (plain, or upgraded with STARTTLS; optional login).

One connection per alert, with a timeout on every socket operation so a silent server cannot
hold a delivery thread for long. Refused recipients, a refused login or a 5xx reply are
permanent; connection problems, timeouts and 4xx replies are retried.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from belay.notify.channels.base import DEFAULT_DELIVERY_TIMEOUT, ChannelBase, DeliveryError
from belay.notify.model import AlertEvent, OutgoingAlert
from belay.notify.render import email_subject, render_text

__all__ = ["SMTPChannel"]


class SMTPChannel(ChannelBase):
    """Sends alerts as e-mail from ``sender`` to ``recipients``."""

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        sender: str,
        recipients: tuple[str, ...],
        events: frozenset[AlertEvent],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_DELIVERY_TIMEOUT,
    ) -> None:
        super().__init__(name=name, events=events)
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = recipients
        self._username = username
        self._password = password
        self._starttls = starttls
        self._tls_context = tls_context
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"SMTPChannel(name={self._name!r}, host={self._host!r}, port={self._port})"

    def message(self, alert: OutgoingAlert) -> EmailMessage:
        """The e-mail for ``alert`` (plain text; the subject carries the title)."""
        mail = EmailMessage()
        mail["Subject"] = email_subject(alert)
        mail["From"] = self._sender
        mail["To"] = ", ".join(self._recipients)
        mail["Date"] = formatdate(alert.occurred_at.timestamp(), usegmt=True)
        mail["Message-ID"] = make_msgid(domain="belay.local")
        mail["X-Belay-Event"] = alert.event.value
        mail.set_content(render_text(alert))
        return mail

    def send(self, alert: OutgoingAlert) -> None:
        """Connect, optionally STARTTLS and log in, and send the alert's e-mail."""
        mail = self.message(alert)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=self._tls_context or ssl.create_default_context())
                if self._username is not None and self._password is not None:
                    smtp.login(self._username, self._password)
                refused = smtp.send_message(mail, self._sender, list(self._recipients))
        except smtplib.SMTPAuthenticationError as err:
            raise DeliveryError(
                f"{self._name}: the SMTP server refused the login ({err.smtp_code})",
                retryable=False,
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(
                f"{self._name}: the SMTP server refused every recipient", retryable=False
            ) from None
        except smtplib.SMTPResponseException as err:
            raise DeliveryError(
                f"{self._name}: the SMTP server answered {err.smtp_code}",
                retryable=400 <= err.smtp_code < 500,
            ) from None
        except (smtplib.SMTPException, OSError) as err:
            kind = "timed out" if isinstance(err, socket.timeout | TimeoutError) else "failed"
            raise DeliveryError(
                f"{self._name}: SMTP {kind} ({type(err).__name__})", retryable=True
            ) from None
        if refused:
            raise DeliveryError(
                f"{self._name}: the SMTP server refused {len(refused)} of "
                f"{len(self._recipients)} recipients",
                retryable=False,
            )

    def close(self) -> None:
        """Nothing to release: every alert uses its own connection."""
