"""Customer views; the rules live in sat.rules and the work in customers.service."""
from flask import abort
from flask import flash
from flask import request
from flask import url_for

from .. import catalog
from .. import csvio
from ..extensions import db
from ..forms import live_response
from ..sat.catalogs import GENERIC_RFCS
from ..settings import company
from ..web import db_int
from ..web import invalid
from ..web import redirect_to
from ..web import render
from . import bp
from . import service
from .forms import CustomerForm
from .models import Customer


@bp.get("/")
def index():
    """List customers with live search and pagination."""
    return catalog.list_page(Customer, "customers/index.html", "customers/_rows.html")


@bp.route("/nuevo", methods=["GET", "POST"], defaults={"customer_id": None})
@bp.route("/<int:customer_id>", methods=["GET", "POST"])
def edit(customer_id):
    """Create or edit a customer."""
    customer = db.session.get(Customer, customer_id) or abort(404) if customer_id else None
    form = CustomerForm(obj=customer, company_cp=company.postal_code(), customer_id=customer_id)
    if form.validate_on_submit():
        customer = service.save(customer, form.data)
        flash(f"Cliente «{customer.name}» guardado.", "ok")
        return redirect_to(url_for("customers.index"))
    page = invalid if form.is_submitted() else render
    return page("customers/edit.html", "customers/_form.html", form=form, customer=customer)


@bp.post("/campos")
def live():
    """Re-check the customer form after one field changed (HTMX, out-of-band fields)."""
    return live_response(CustomerForm(company_cp=company.postal_code(),
                                      customer_id=request.form.get("_customer_id", type=db_int)))


catalog.register_archiving(bp, Customer, "Cliente", "customers.index")


def _import_forms():
    """Build import forms with what every row shares loaded once, not per row."""
    company_cp = company.postal_code()
    owners = service.rfc_owners()
    return lambda data: CustomerForm(formdata=data, meta={"csrf": False}, live=False,
                                     company_cp=company_cp, rfc_owner=owners.get)


def _pad(width):
    # Excel drops leading zeros of catalog codes ("3" for forma de pago "03").
    return lambda value: value.zfill(width) if value.isdigit() and len(value) < width else value


CSV = csvio.CsvSpec(
    name="clientes",
    columns=[("rfc", "rfc"), ("name", "razon_social"), ("regimen", "regimen_fiscal"),
             ("uso_cfdi", "uso_cfdi"), ("metodo_pago", "metodo_pago"),
             ("forma_pago", "forma_pago"), ("credit_days", "dias_credito"),
             ("partner_type", "tipo_socio"), ("cp", "codigo_postal"), ("email", "email"),
             ("street", "calle"), ("exterior", "numero_exterior"),
             ("interior", "numero_interior"), ("colonia", "colonia"),
             ("municipio", "municipio"), ("estado", "estado")],
    required=("rfc", "razon_social", "regimen_fiscal", "uso_cfdi", "metodo_pago",
              "forma_pago", "codigo_postal"),
    form_factory=_import_forms,
    create=lambda form: db.session.add(service.apply(Customer(), form.data)),
    export_rows=lambda: catalog.export_rows(Customer, service.FIELDS),
    normalizers={"forma_pago": _pad(2), 
                 "dias_credito": lambda v: v or "0",
                 "tipo_socio": lambda v: v.lower() or "cliente"},
    unique="rfc",
    unique_exempt=GENERIC_RFCS,
)
csvio.register(bp, CSV, "customers.index")
