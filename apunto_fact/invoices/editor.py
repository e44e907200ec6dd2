"""The invoice editor parsed once into one value that saving, readiness and totals read."""
from dataclasses import dataclass
from dataclasses import field
from datetime import date as Date
from decimal import Decimal

from ..extensions import db
from ..products.models import Product
from ..sat import rules
from .models import LINE_INPUTS
from .models import LINE_SNAPSHOT


# Ids live in 32-bit integer columns; anything larger is no id of ours (and would overflow).
MAX_ID = 2 ** 31
NO_PRODUCT = "Elige un producto o servicio del catálogo para este concepto."


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
    # InformacionGlobal, kept only for a factura global to PUBLICO EN GENERAL.
    global_periodicidad: str | None = None
    global_meses: str | None = None
    global_anio: int | None = None
    editable = True


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
    if customer is not None and rules.is_publico_en_general(customer.rfc, customer.name):
        year = (form.global_anio.data or "").strip()
        draft.global_periodicidad = form.global_periodicidad.data or None
        draft.global_meses = form.global_meses.data or None
        draft.global_anio = int(year) if year.isdigit() and len(year) == 4 else None
    old = {line.position: line for line in old_lines}
    subtotal = Decimal(0)
    for position, entry in enumerate(form.lines):
        inputs = entry.form
        product_id = inputs.product_id.data
        product = db.session.get(Product, product_id) if product_id and \
            0 < product_id < MAX_ID else None
        source = product if product is not None else old.get(position)
        if source is None and attach:
            # Nothing to copy the SAT keys and taxes from: the line cannot be stored.
            inputs.product_id.errors = [*inputs.product_id.errors, NO_PRODUCT]
        snapshot = {name: getattr(source, name, None) for name in LINE_SNAPSHOT}
        typed = {name: inputs[name].data for name in LINE_INPUTS[1:]}
        findings = rules.check_line({**typed, **snapshot})
        for name, message in findings.errors.items() if attach else ():
            if name in inputs._fields and message not in inputs[name].errors:
                inputs[name].errors = [*inputs[name].errors, message]
        if findings.values["quantity"] is not None and findings.values["unit_price"] is not None:
            subtotal += findings.values["quantity"] * findings.values["unit_price"]
            if subtotal >= rules.MAX_INVOICE_SUBTOTAL and attach:
                # Keeps every total within NUMERIC(18,6) on PostgreSQL (i10).
                inputs.unit_price.errors = [*inputs.unit_price.errors, rules.TOTAL_TOO_LARGE]
        description = typed["description"] or (product.name if product else "")
        draft.lines.append(DraftLine(
            product=product if product is not None else getattr(source, "product", None),
            description=description, quantity=findings.values["quantity"],
            unit_price=findings.values["unit_price"],
            discount_pct=findings.values["discount_pct"], **snapshot))
    return draft
