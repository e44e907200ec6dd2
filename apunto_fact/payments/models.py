"""Payments received on PPD invoices; each is a document stamped as a REP (Pagos 2.0)."""
from ..dbtypes import Money
from ..documents import FiscalDocument
from ..documents.states import CANCEL_PENDING
from ..documents.states import DRAFT
from ..documents.states import QUEUED
from ..documents.states import REJECTED
from ..documents.states import STAMPED
from ..documents.states import STAMPING
from ..documents.states import UNKNOWN
from ..extensions import db

# A payment holds money against its invoices from the moment it is registered (the money
# arrived, whether or not its REP is stamped yet) until its REP is cancelled or it is discarded.
HOLDS_BALANCE = (DRAFT, QUEUED, STAMPING, STAMPED, REJECTED, UNKNOWN, CANCEL_PENDING)
# A REP in force (or possibly in force) blocks cancelling its invoices.
REP_IN_FORCE = (STAMPING, STAMPED, UNKNOWN, CANCEL_PENDING)
LABELS = {"draft": "Sin complemento", "stamping": "Timbrando…", "stamped": "REP timbrado",
          "rejected": "REP rechazado", "unknown": "Por verificar",
          "cancel_pending": "En proceso de cancelación", "cancelled": "Cancelado",
          "queued": "En cola"}


class Payment(FiscalDocument, db.Model):
    """A payment received from a customer, applied to one or more of its PPD invoices."""

    __tablename__ = "payments"
    DOCUMENT_TYPE = "payment"

    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.Integer, db.ForeignKey("customers.id"), nullable=False,
                            index=True)
    # When the money arrived (local time, as FechaPago); the REP is issued after it.
    paid_at = db.Column(db.DateTime, nullable=False, index=True)
    forma_pago = db.Column(db.String(2), nullable=False)
    currency = db.Column(db.String(3), nullable=False, default="MXN")
    exchange_rate = db.Column(Money)
    amount = db.Column(Money, nullable=False)
    operation_number = db.Column(db.String(100))
    # Optional SAT data: the payer's account (CtaOrdenante) and where it arrived (CtaBeneficiario).
    cta_ordenante = db.Column(db.String(50))
    cta_beneficiario = db.Column(db.String(50))
    # The form that created it: two tabs posting the same form register one payment.
    form_token = db.Column(db.String(64), nullable=False, unique=True)
    created_by = db.Column(db.String(80))

    customer = db.relationship("Customer", lazy="joined")
    applications = db.relationship("PaymentApplication", order_by="PaymentApplication.id",
                                   cascade="all, delete-orphan", back_populates="payment")

    @property
    def label(self):
        """The payment's state in Spanish (REP wording)."""
        return LABELS.get(self.status, self.status)

    @property
    def number(self):
        """Serie and folio of the REP, once stamped."""
        return f"{self.serie or ''}{self.folio or ''}" or None

    @property
    def date(self):
        """The day of the payment (the archive files it under this month)."""
        return self.paid_at.date()


class PaymentApplication(db.Model):
    """What one payment applies to one invoice, with the REP's numbers for it."""

    __tablename__ = "payment_applications"
    __table_args__ = (db.UniqueConstraint("payment_id", "invoice_id",
                                          name="uq_payment_applications_payment_invoice"),)

    id = db.Column(db.Integer, primary_key=True)
    payment_id = db.Column(db.Integer, db.ForeignKey("payments.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    invoice_id = db.Column(db.Integer, db.ForeignKey("invoices.id"), nullable=False,
                           index=True)
    amount = db.Column(Money, nullable=False)  # ImpPagado, in the invoice's currency
    num_parcialidad = db.Column(db.Integer, nullable=False)
    saldo_anterior = db.Column(Money, nullable=False)
    saldo_insoluto = db.Column(Money, nullable=False)

    payment = db.relationship("Payment", back_populates="applications")
    invoice = db.relationship("Invoice")
