"""Register a payment: the SAT's refusals first, then one row per form (two tabs, one payment)."""
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..documents.states import CANCELLED
from ..documents.states import STAMPED
from ..extensions import db
from ..invoices.models import Invoice
from ..sat import rules
from .balances import paid_by_invoice
from .models import Payment
from .models import PaymentApplication


@dataclass
class Registration:
    """The outcome of «Registrar pago»: the payment, or the refusals by field."""

    payment: Payment | None = None
    errors: dict = field(default_factory=dict)
    notice: str | None = None


def local_now():
    """Now in the business's time zone, naive (as FechaPago is written)."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime.now(zone).replace(tzinfo=None, microsecond=0)


def _applications(invoices, amounts, balances):
    return [rules.PaymentApplication(
        field=f"apply-{invoice.id}", label=invoice.number or f"#{invoice.id}",
        metodo_pago=invoice.metodo_pago, cancelled=invoice.status == CANCELLED,
        stamped=invoice.status == STAMPED and bool(invoice.uuid), issued=invoice.date,
        balance=invoice.total - balances.get(invoice.id, 0), amount=amounts[invoice.id],
        currency=invoice.currency, exchange_rate=invoice.exchange_rate)
        for invoice in invoices]


def register(customer, data, amounts, token, who):
    """Check and save a payment of customer applied as amounts {invoice_id: Decimal}.

    The invoices' rows are written first (a no-op UPDATE) so that two registrations on the
    same invoices queue one behind the other: the second sees the first's payment in the
    balance, and overpaying cannot slip between them.
    """
    existing = db.session.query(Payment).filter_by(form_token=token).first()
    if existing is not None:
        return Registration(existing, notice="Este pago ya se registró desde esta misma "
                                             "pantalla (otra pestaña o doble clic).")
    ids = sorted(amounts)
    if ids:
        db.session.execute(update(Invoice).where(Invoice.id.in_(ids)).values(
            updated_at=Invoice.updated_at).execution_options(synchronize_session=False))
    invoices = db.session.query(Invoice).filter(Invoice.id.in_(ids)).order_by(
        Invoice.date, Invoice.id).all() if ids else []
    foreign = [i for i in invoices if i.customer_id != customer.id]
    findings = rules.check_rep_payment(data, _applications(invoices, amounts,
                                                           paid_by_invoice(ids)), local_now())
    for invoice in foreign:
        findings.error(f"apply-{invoice.id}", "Esta factura es de otro cliente.")
    if findings.errors or len(invoices) != len(ids):
        db.session.rollback()
        return Registration(errors=findings.errors or {"amount": "Una factura ya no existe."})
    payment = Payment(customer_id=customer.id, paid_at=data["paid_at"],
                      forma_pago=data["forma_pago"], currency=data.get("currency") or "MXN",
                      exchange_rate=data.get("exchange_rate"), amount=data["amount"],
                      operation_number=data.get("operation_number") or None,
                      cta_ordenante=data.get("cta_ordenante") or None,
                      cta_beneficiario=data.get("cta_beneficiario") or None,
                      form_token=token, created_by=who)
    paid = paid_by_invoice(ids)
    for invoice in invoices:
        before = paid.get(invoice.id, 0)
        payment.applications.append(PaymentApplication(
            invoice_id=invoice.id, amount=amounts[invoice.id], num_parcialidad=0,
            saldo_anterior=invoice.total - before,
            saldo_insoluto=invoice.total - before - amounts[invoice.id]))
    db.session.add(payment)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.query(Payment).filter_by(form_token=token).first()
        return Registration(existing, notice="Este pago ya se registró desde esta misma "
                                             "pantalla (otra pestaña o doble clic).")
    return Registration(payment)
