"""What each PPD invoice owes: total, paid by payments that hold money, pending."""
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

from ..documents.states import STAMPED
from ..extensions import db
from ..invoices.models import Invoice
from .models import HOLDS_BALANCE
from .models import REP_IN_FORCE
from .models import Payment
from .models import PaymentApplication

ZERO = Decimal(0)


@dataclass
class Balance:
    """An invoice's account: what it totals, what was paid and by which payments."""

    total: Decimal
    paid: Decimal = ZERO
    applications: list = field(default_factory=list)  # PaymentApplication, oldest first

    @property
    def pending(self):
        """What is still owed."""
        return self.total - self.paid


def paid_by_invoice(invoice_ids):
    """{invoice_id: amount paid} by payments that hold money (summed as Decimal)."""
    totals = {}
    if not invoice_ids:
        return totals
    rows = db.session.query(PaymentApplication.invoice_id, PaymentApplication.amount).join(
        Payment).filter(PaymentApplication.invoice_id.in_(list(invoice_ids)),
                        Payment.status.in_(HOLDS_BALANCE))
    for invoice_id, amount in rows:
        totals[invoice_id] = totals.get(invoice_id, ZERO) + amount
    return totals


def balance(invoice):
    """The Balance of one invoice, with every payment applied to it (any state)."""
    applications = db.session.query(PaymentApplication).join(Payment).filter(
        PaymentApplication.invoice_id == invoice.id).order_by(Payment.paid_at,
                                                               Payment.id).all()
    paid = sum((a.amount for a in applications if a.payment.status in HOLDS_BALANCE), ZERO)
    return Balance(total=invoice.total, paid=paid, applications=applications)


def open_invoices(customer_id):
    """The customer's stamped PPD invoices that still owe something, oldest first."""
    invoices = db.session.query(Invoice).filter(
        Invoice.customer_id == customer_id, Invoice.status == STAMPED,
        Invoice.metodo_pago == "PPD").order_by(Invoice.date, Invoice.id).all()
    paid = paid_by_invoice([i.id for i in invoices])
    return [(i, i.total - paid.get(i.id, ZERO)) for i in invoices
            if i.total - paid.get(i.id, ZERO) > 0]


def reps_in_force(invoice):
    """Payments of an invoice whose REP is (or may be) in force: they block its cancellation."""
    return db.session.query(Payment).join(PaymentApplication).filter(
        PaymentApplication.invoice_id == invoice.id,
        Payment.status.in_(REP_IN_FORCE)).order_by(Payment.id).all()


def earlier_applications(invoice_id, payment):
    """Applications to the invoice by payments holding money received before payment.

    Ordered by when the money arrived, so NumParcialidad and ImpSaldoAnt follow the
    payments' order whatever order their REPs are stamped in.
    """
    rows = db.session.query(PaymentApplication).join(Payment).filter(
        PaymentApplication.invoice_id == invoice_id, Payment.id != payment.id,
        Payment.status.in_(HOLDS_BALANCE)).all()
    key = (payment.paid_at, payment.id)
    return [a for a in rows if (a.payment.paid_at, a.payment.id) < key]


def cancel_refusal(invoice):
    """Why an invoice cannot be cancelled because of its REPs (None when it can)."""
    blocking = reps_in_force(invoice)
    if not blocking:
        return None
    names = ", ".join(p.number or f"pago #{p.id}" for p in blocking)
    return (f"Esta factura tiene complementos de pago vigentes ({names}): el SAT la considera "
            f"«No cancelable». Cancela primero esos complementos de pago y después la factura.")
