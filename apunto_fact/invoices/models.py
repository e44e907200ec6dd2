"""Invoices and their lines; the state machine lives in apunto_fact.documents."""
from ..dbtypes import Money
from ..documents import FiscalDocument
from ..documents.states import CANCEL_PENDING  # noqa: F401 - re-exported for templates/tests
from ..documents.states import CANCELLED  # noqa: F401
from ..documents.states import DRAFT  # noqa: F401
from ..documents.states import QUEUED  # noqa: F401
from ..documents.states import EDITABLE  # noqa: F401
from ..documents.states import LABELS as STATUS_LABELS  # noqa: F401
from ..documents.states import REJECTED  # noqa: F401
from ..documents.states import STAMPED  # noqa: F401
from ..documents.states import STAMPING  # noqa: F401
from ..documents.states import UNKNOWN  # noqa: F401
from ..extensions import db

# The editable fields of a line, as the editor sends them, in order (the one list).
LINE_INPUTS = ("product_id", "description", "quantity", "unit_price", "discount_pct")
# What a line copies from its product, so later catalog edits don't change a draft.
LINE_SNAPSHOT = ("clave_prod_serv", "clave_unidad", "objeto_imp", "iva", "ieps", "ret_isr",
                 "ret_iva")
LINE_FIELDS = LINE_INPUTS[1:] + LINE_SNAPSHOT


class Invoice(FiscalDocument, db.Model):
    """A CFDI de ingreso: a draft until Alegra stamps it."""

    __tablename__ = "invoices"
    DOCUMENT_TYPE = "invoice"
    __table_args__ = (
        # The list filters by status and shows newest first: walking this index in date
        # order stops after one page instead of sorting every invoice of that status.
        db.Index("ix_invoices_status_date", "status", "date", "id"),
        # Keyset pagination walks (date, id) in order, with or without a customer.
        db.Index("ix_invoices_date_id", "date", "id"),
        db.Index("ix_invoices_customer_date", "customer_id", "date", "id"),
        # The stamp queue's order (a place in line is a count over this index).
        db.Index("ix_invoices_status_queued", "status", "queued_at", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    # A draft may be saved before its customer is chosen; stamping requires one.
    customer_id = db.Column(db.Integer, db.ForeignKey("customers.id"), index=True)
    date = db.Column(db.Date, nullable=False, index=True)
    currency = db.Column(db.String(3), nullable=False, default="MXN")
    exchange_rate = db.Column(Money)
    uso_cfdi = db.Column(db.String(4), nullable=False)
    metodo_pago = db.Column(db.String(3), nullable=False)
    forma_pago = db.Column(db.String(2), nullable=False)
    observations = db.Column(db.String(500))
    # InformacionGlobal of a factura global a público en general (c_Periodicidad, c_Meses).
    global_periodicidad = db.Column(db.String(2))
    global_meses = db.Column(db.String(2))
    global_anio = db.Column(db.Integer)
    subtotal = db.Column(Money, nullable=False, default=0)
    discount = db.Column(Money, nullable=False, default=0)
    taxes = db.Column(Money, nullable=False, default=0)
    retentions = db.Column(Money, nullable=False, default=0)
    total = db.Column(Money, nullable=False, default=0)
    alegra_total = db.Column(Money)
    # When it last entered the stamp queue: its place in line is the order of this column.
    queued_at = db.Column(db.DateTime)

    customer = db.relationship("Customer", lazy="joined")
    lines = db.relationship("InvoiceLine", order_by="InvoiceLine.position",
                            cascade="all, delete-orphan", back_populates="invoice")

    @property
    def number(self):
        """Serie and folio as printed (A152), once stamped."""
        return f"{self.serie or ''}{self.folio or ''}" or None

    @property
    def title(self):
        """One name for the invoice's whole life: "Borrador 3" until Alegra gives it a folio."""
        return f"Factura {self.number}" if self.number else f"Borrador {self.id}"


class InvoiceLine(db.Model):
    """One concepto; product data is copied so later catalog edits don't change a draft."""

    __tablename__ = "invoice_lines"

    id = db.Column(db.Integer, primary_key=True)
    invoice_id = db.Column(db.Integer, db.ForeignKey("invoices.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False, default=0)
    product_id = db.Column(db.Integer, db.ForeignKey("products.id", ondelete="SET NULL"))
    description = db.Column(db.String(1000), nullable=False)
    clave_prod_serv = db.Column(db.String(8), nullable=False)
    clave_unidad = db.Column(db.String(3), nullable=False)
    quantity = db.Column(Money, nullable=False)
    unit_price = db.Column(Money, nullable=False)
    discount_pct = db.Column(Money, nullable=False, default=0)
    objeto_imp = db.Column(db.String(2), nullable=False)
    iva = db.Column(db.String(10))
    ieps = db.Column(db.String(10))
    ret_isr = db.Column(db.String(10))
    ret_iva = db.Column(db.String(10))

    invoice = db.relationship("Invoice", back_populates="lines")
    product = db.relationship("Product")
