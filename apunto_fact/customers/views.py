"""Customer views; the rules live in sat.rules and the work in customers.service."""
from flask import abort
from flask import flash
from flask import render_template
from flask import request
from flask import url_for

from .. import csvio
from ..extensions import db
from ..sat.catalogs import GENERIC_RFCS
from ..settings import company
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
    text = request.args.get("q", "")[:100]
    archived = request.args.get("archivados") == "1"
    page = request.args.get("page", 1, type=int)
    results = service.search(text, max(page, 1), archived)
    return render("customers/index.html", "customers/_rows.html", results=results, q=text,
                  archived=archived)


def _form(customer=None):
    return CustomerForm(obj=customer, company_cp=company.postal_code(),
                        customer_id=customer.id if customer else None)


def _edit_page(form, customer, status=200):
    context = {"form": form, "customer": customer}
    if status == 422:
        return invalid("customers/edit.html", "customers/_form.html", **context)
    return render("customers/edit.html", "customers/_form.html", **context)


@bp.route("/nuevo", methods=["GET", "POST"])
def create():
    """Create a customer."""
    form = _form()
    if form.validate_on_submit():
        customer = service.create(form.data)
        flash(f"Cliente «{customer.name}» guardado.", "ok")
        return redirect_to(url_for("customers.index"))
    return _edit_page(form, None, 422 if form.is_submitted() else 200)


@bp.route("/<int:customer_id>", methods=["GET", "POST"])
def edit(customer_id):
    """Edit a customer."""
    customer = service.get(customer_id) or abort(404)
    form = _form(customer)
    if form.validate_on_submit():
        service.update(customer, form.data)
        flash(f"Cliente «{customer.name}» actualizado.", "ok")
        return redirect_to(url_for("customers.index"))
    return _edit_page(form, customer, 422 if form.is_submitted() else 200)


@bp.post("/campos")
def live():
    """Re-check the customer form after one field changed (HTMX, out-of-band fields)."""
    form = CustomerForm(company_cp=company.postal_code(),
                        customer_id=request.form.get("_customer_id", type=int))
    trigger = request.form.get("_trigger")
    if trigger not in CustomerForm.LIVE_FIELDS:
        abort(400)
    fields = form.live(trigger, request.form.get("_fix"))
    return render_template("_live_fields.html", form=form, fields=fields)


@bp.post("/<int:customer_id>/archivar")
def archive(customer_id):
    """Archive a customer (its invoices stay)."""
    customer = service.get(customer_id) or abort(404)
    service.set_archived(customer, True)
    flash(f"Cliente «{customer.name}» archivado. Sus facturas se conservan.", "ok")
    return redirect_to(url_for("customers.index"))


@bp.post("/<int:customer_id>/restaurar")
def restore(customer_id):
    """Bring an archived customer back."""
    customer = service.get(customer_id) or abort(404)
    service.set_archived(customer, False)
    flash(f"Cliente «{customer.name}» restaurado.", "ok")
    return redirect_to(url_for("customers.index"))


def _import_forms():
    """Build import forms with what every row shares loaded once, not per row."""
    company_cp = company.postal_code()
    owners = service.rfc_owners()
    return lambda data: CustomerForm(formdata=data, meta={"csrf": False}, live=False,
                                     company_cp=company_cp, rfc_owner=owners.get)


def _create_from(form):
    db.session.add(service.apply(Customer(), form.data))


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
    create=_create_from,
    export_rows=service.export_rows,
    normalizers={"forma_pago": _pad(2), "dias_credito": lambda v: v or "0",
                 "tipo_socio": lambda v: v.lower() or "cliente"},
    unique="rfc",
    unique_exempt=GENERIC_RFCS,
)
csvio.register(bp, CSV, "customers.index")
