"""The invoice editor parsed once into one value that saving, readiness and totals read."""
from dataclasses import dataclass
from dataclasses import field
from datetime import date as Date
from decimal import Decimal

from ..extensions import db
from ..products.models import Product
from ..sat import rules
from ..web import db_int
from .models import LINE_INPUTS
from .models import LINE_SNAPSHOT


@dataclass
class DraftLine:
    """One concepto as typed, amounts parsed (None where they did not parse)."""

    product: Product | None
    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    discount_pct: Decimal | None
    clave_prod_serv: str | None = None
    clave_unidad: str | None = None
    objeto_imp: str | None = None
    iva: str | None = None
    ieps: str | None = None
    ret_isr: str | None = None
    ret_iva: str | None = None

    @property
    def product_id(self):
        """The product's id (None when it has none)."""
        return self.product.id if self.product is not None else None


@dataclass
class Draft:
    """The whole editor: header and lines, with the customer it names."""

    customer: object
    date: Date | None
    currency: str
    exchange_rate: Decimal | None
    uso_cfdi: str
    metodo_pago: str
    forma_pago: str
    observations: str | None
    lines: list = field(default_factory=list)
    editable = True


NO_PRODUCT = "Elige un producto o servicio de tu catálogo para esta línea."


def _product(raw):
    """The catalog product an editor line names, or None (missing, not a number, unknown)."""
    try:
        return db.session.get(Product, db_int(raw))
    except (TypeError, ValueError):
        return None


def parse(form, customer, old_lines=(), attach=True):
    """Read the editor once; with attach, put every line's error at its field.

    A line whose product disappeared keeps what ``old_lines`` (the stored lines, by position)
    had; SAT keys and taxes always come from the product or the stored line, never the browser.
    """
    currency = form.currency.data or "MXN"
    rate = None
    if currency != "MXN" and form.exchange_rate.data:
        # Its message is the header check's (rules.check_invoice_header); here only the value.
        rate = rules.parse_amount(form.exchange_rate.data, rules.Findings(), "exchange_rate")
    draft = Draft(customer=customer, date=form.date.data, currency=currency, exchange_rate=rate,
                  uso_cfdi=form.uso_cfdi.data or "", metodo_pago=form.metodo_pago.data or "",
                  forma_pago=form.forma_pago.data or "",
                  observations=form.observations.data or None)
    old = {line.position: line for line in old_lines}
    subtotal = Decimal(0)
    for position, entry in enumerate(form.lines):
        inputs = entry.form
        product = _product(inputs.product_id.data)
        source = product if product is not None else old.get(position)
        snapshot = {name: getattr(source, name, None) for name in LINE_SNAPSHOT}
        typed = {name: inputs[name].data for name in LINE_INPUTS[1:]}
        findings = rules.check_line({**typed, **snapshot})
        if source is None:
            # Nothing to take SAT keys and taxes from: the line cannot be stored (i10).
            findings.error("description", NO_PRODUCT)
            if attach:
                inputs.product_id.errors = [*inputs.product_id.errors, NO_PRODUCT]
        if findings.values["quantity"] is not None and findings.values["unit_price"] is not None:
            subtotal += findings.values["quantity"] * findings.values["unit_price"]
            if subtotal >= rules.MAX_INVOICE_SUBTOTAL and attach:
                # Keeps every total within NUMERIC(18,6) on PostgreSQL (i10).
                inputs.unit_price.errors = [*inputs.unit_price.errors, rules.TOTAL_TOO_LARGE]
        for name, message in findings.errors.items() if attach else ():
            if name in inputs._fields and message not in inputs[name].errors:
                inputs[name].errors = [*inputs[name].errors, message]
        description = typed["description"] or (product.name if product else "")
        draft.lines.append(DraftLine(
            product=product if product is not None else getattr(source, "product", None),
            description=description, quantity=findings.values["quantity"],
            unit_price=findings.values["unit_price"],
            discount_pct=findings.values["discount_pct"], **snapshot))
    return draft
