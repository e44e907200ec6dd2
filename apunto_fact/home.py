"""Inicio: what to do next, and the month at a glance."""
import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy import select

from .customers.models import Customer
from .extensions import db
from .invoices import lots
from .invoices import models as inv
from .settings import alegra
from .settings import company
from .timeutil import today

# Stamped invoices count as invoiced; a cancellation in process still counts until the SAT
# accepts it (that is what the SAT shows meanwhile).
INVOICED = (inv.STAMPED, inv.CANCEL_PENDING)
LATEST = 6
CENT = Decimal("0.01")


def month_bounds(day):
    """Return (first day of day's month, first day of the next month)."""
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following


def invoiced_between(start, end):
    """Return (count, total in MXN) of invoices stamped with a date in [start, end).

    Foreign-currency invoices count at their exchange rate. The sum runs in the database
    (the date index keeps it to one month); SQLite keeps amounts as text and sums them as
    floats, exact to the cent at any size a month of a small business can reach.
    """
    number = sa.Float if db.engine.dialect.name == "sqlite" else sa.Numeric(18, 6)
    total = sa.cast(inv.Invoice.total, number)
    rate = sa.cast(sa.func.coalesce(inv.Invoice.exchange_rate, 0), number)
    amount = sa.case((inv.Invoice.currency == "MXN", total), else_=total * rate)
    count, summed = db.session.execute(
        select(func.count(), func.sum(amount))
        .where(inv.Invoice.status.in_(INVOICED), inv.Invoice.date >= start,
               inv.Invoice.date < end)).one()
    return count, Decimal(str(summed or 0)).quantize(CENT)


def status_counts():
    """Return {status: count} for the states that ask for attention."""
    wanted = (inv.DRAFT, inv.REJECTED, inv.UNKNOWN, inv.QUEUED, inv.STAMPING,
              inv.CANCEL_PENDING)
    rows = db.session.execute(
        select(inv.Invoice.status, func.count()).where(inv.Invoice.status.in_(wanted))
        .group_by(inv.Invoice.status)).all()
    return {status: count for status, count in rows}


def next_steps():
    """Return the set-up steps in order, each (label, endpoint, done)."""
    conn = alegra.connection()
    fiscal = company.get()
    has_customer = db.session.execute(select(Customer.id).limit(1)).first() is not None
    has_stamped = db.session.execute(
        select(inv.Invoice.id).where(inv.Invoice.uuid.is_not(None)).limit(1)).first() is not None
    return [
        ("Conecta tu cuenta de Alegra", "settings.alegra", conn.status == "connected"),
        ("Captura los datos fiscales de tu empresa", "settings.company_settings",
         bool(fiscal and fiscal.rfc and fiscal.cp)),
        ("Registra tu primer cliente", "customers.edit", has_customer),
        ("Timbra tu primera factura", "invoices.show", has_stamped),
    ]


def summary():
    """Everything Inicio shows."""
    this_first, next_first = month_bounds(today())
    last_first, _ = month_bounds(this_first - datetime.timedelta(days=1))
    latest = db.session.execute(
        select(inv.Invoice).order_by(inv.Invoice.id.desc()).limit(LATEST)).scalars().all()
    return {
        "steps": next_steps(),
        "this_month": invoiced_between(this_first, next_first),
        "last_month": invoiced_between(last_first, this_first),
        "month_start": this_first,
        "last_month_start": last_first,
        "counts": status_counts(),
        "latest": latest,
        "lots": lots.running(),
    }
