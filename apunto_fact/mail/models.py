"""Each e-mail send of a document: who asked, to whom, when, and how it ended."""
from ..extensions import db
from ..timeutil import utcnow

SENDING, SENT, FAILED, UNKNOWN = "sending", "sent", "failed", "unknown"
LABELS = {SENDING: "Enviando…", SENT: "Enviado", FAILED: "No se envió",
          UNKNOWN: "Sin confirmar"}
_SENDING_ONLY = f"state = '{SENDING}'"


class EmailSend(db.Model):
    """One press of «Enviar por correo» (or the automatic send after stamping).

    ``token`` comes from the form that was pressed: a double click posts it twice and the
    unique index lets only one row in. At most one send per document is in flight at a time
    (partial unique index), so two tabs cannot send the same document at once either.
    """

    __tablename__ = "email_sends"
    __table_args__ = (
        db.Index("ix_email_sends_document", "document_type", "document_id"),
        db.Index("uq_email_sends_in_flight", "document_type", "document_id", unique=True,
                 sqlite_where=db.text(_SENDING_ONLY), postgresql_where=db.text(_SENDING_ONLY)),
    )

    id = db.Column(db.Integer, primary_key=True)
    document_type = db.Column(db.String(20), nullable=False)  # invoice | payment
    document_id = db.Column(db.Integer, nullable=False)
    token = db.Column(db.String(64), nullable=False, unique=True)
    recipients = db.Column(db.Text, nullable=False)  # comma-separated
    # Not called "status": that word belongs to documents and their one transition function.
    state = db.Column(db.String(10), nullable=False, default=SENDING)
    requested_by = db.Column(db.String(80))  # username, or "automático"
    requested_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)
    message = db.Column(db.Text)

    @property
    def state_label(self):
        """The outcome in Spanish."""
        return LABELS.get(self.state, self.state)

    @property
    def recipient_list(self):
        """The addresses as a list."""
        return [r for r in self.recipients.split(",") if r]


class MailSettings(db.Model):
    """One row: whether a document is e-mailed to the customer right after it is stamped."""

    __tablename__ = "mail_settings"

    id = db.Column(db.Integer, primary_key=True)
    auto_send = db.Column(db.Boolean, nullable=False, default=False)
