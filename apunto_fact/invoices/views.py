"""Invoice views: short; the work is in service, stamping and readiness."""
import json

from flask import abort
from flask import flash
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import catalog
from ..documents import states
from ..documents.web import replacements
from ..documents.web import stored_file
from ..customers.models import Customer
from ..extensions import db
from ..payments import balances as payment_balances
from ..forms import LIVE_SYNC
from ..products.models import Product
from ..sat import catalogs as cat
from ..sat import rules
from ..settings import alegra as connection
from ..web import db_date
from ..web import db_int
from ..web import is_htmx
from ..web import redirect_to
from ..web import render
from . import lots
from . import queue
from . import bp
from . import readiness
from . import service
from . import stamping
from .forms import BulkStampForm
from .forms import InvoiceForm
from .models import CANCEL_PENDING
from .models import CANCELLED
from .models import LINE_INPUTS
from .models import QUEUED
from .models import STAMPING
from .models import STAMPED
from .models import STATUS_LABELS
from .models import Invoice
from .totals import compute

EDITOR, PANEL = "invoices/edit.html", "invoices/_invoice.html"


def _get(invoice_id):
    return db.session.get(Invoice, invoice_id) or abort(404)


@bp.get("/")
def index():
    """List invoices: filter by status, customer and dates; live search; keyset pages."""
    args = request.args
    text = args.get("q", "")[:100]
    status = args.get("estado", "") if args.get("estado") in STATUS_LABELS else ""
    customer = db.session.get(Customer, args.get("cliente", type=db_int) or 0)
    results = service.search(text, status, customer.id if customer else None,
                             args.get("desde", type=db_date), args.get("hasta", type=db_date),
                             after=service.parse_cursor(args.get("despues")),
                             before=service.parse_cursor(args.get("antes")))
    return render("invoices/index.html", "invoices/_rows.html", results=results, q=text,
                  state=status, since=args.get("desde", ""), until=args.get("hasta", ""),
                  customer=customer, labels=STATUS_LABELS)


def _editor_context(form, invoice, customer, **extra):
    """Everything the editor shows: form, totals and what blocks stamping."""
    form.refresh(customer)
    if invoice is not None and not invoice.editable:
        totals, problems = compute(invoice.lines), []
    else:
        # One parse of what is on screen feeds the totals and the readiness check.
        draft = form.parsed(customer, invoice.lines if invoice is not None else ())
        totals, problems = compute(draft.lines), readiness.problems(draft)
    # What blocked a stamp attempt (e.g. the account review before the first stamp).
    problems = problems or extra.get("blocked") or []
    if invoice is not None:
        form.version.data = str(invoice.version)
    global_invoice = customer is not None and rules.is_publico_en_general(customer.rfc,
                                                                         customer.name)
    return {"form": form, "invoice": invoice, "customer": customer, "totals": totals,
            "problems": problems, "global_invoice": global_invoice, **extra}


def _form_for(invoice):
    if invoice is None:
        return InvoiceForm()
    data = {"customer_id": invoice.customer_id or "", "date": invoice.date,
            "version": str(invoice.version),
            "currency": invoice.currency, "uso_cfdi": invoice.uso_cfdi,
            "exchange_rate": f"{invoice.exchange_rate}" if invoice.exchange_rate else "",
            "metodo_pago": invoice.metodo_pago, "forma_pago": invoice.forma_pago,
            "observations": invoice.observations or "",
            "global_periodicidad": invoice.global_periodicidad or "",
            "global_meses": invoice.global_meses or "",
            "global_anio": str(invoice.global_anio or ""),
            "lines": [{"product_id": line.product_id, **{
                name: f"{getattr(line, name)}" for name in LINE_INPUTS[1:]}}
                for line in invoice.lines]}
    return InvoiceForm(formdata=None, data=data)


@bp.route("/nueva", methods=["GET", "POST"], defaults={"invoice_id": None})
@bp.route("/<int:invoice_id>", methods=["GET", "POST"])
def show(invoice_id):
    """The editor for drafts; the read-only view with status for everything else."""
    invoice = _get(invoice_id) if invoice_id else None
    if request.method == "GET":
        form = _form_for(invoice)
        return render(EDITOR, PANEL, **_editor_context(form, invoice, service.customer_of(form)))
    if invoice is not None and not invoice.editable:
        return _locked(invoice)
    form, customer = _submitted(invoice)
    if not form.savable():
        return _unsavable(form, invoice, customer)
    new = invoice is None
    invoice = invoice or Invoice()
    if not service.save(invoice, form.draft, form.submitted_version()):
        return _stale(invoice)
    if new:
        flash("Borrador guardado.", "ok")
        return redirect_to(url_for("invoices.show", invoice_id=invoice.id))
    return render(EDITOR, PANEL, **_editor_context(form, invoice, customer,
                                                   saved="Borrador guardado."))


def _submitted(invoice=None):
    """The editor as posted, checked and parsed once: (form, its customer)."""
    form = InvoiceForm()
    customer = service.customer_of(form)
    form.validate()
    form.check(customer, old_lines=invoice.lines if invoice is not None else ())
    return form, customer


def _unsavable(form, invoice, customer):
    """Amounts that do not parse: show them at their fields, save nothing (422)."""
    return render(EDITOR, PANEL, status=422, **_editor_context(form, invoice, customer))


def _stale(invoice):
    """The invoice changed since the page was drawn: show it as it is now (409)."""
    db.session.refresh(invoice)
    if not invoice.editable:
        return _locked(invoice)
    return _panel(stamping.Outcome(invoice, notice=stamping.STALE_MESSAGE, stale=True))


def _locked(invoice):
    message = ("Esta factura ya no es un borrador (está «" + invoice.status_label.lower() +
               "») y no se puede modificar; no se guardó lo que enviaste. Este es su estado "
               "actual.")
    if invoice.status in (STAMPED, CANCELLED, CANCEL_PENDING):
        message += " Para corregirla, cancélala con el motivo 01 y emite una nueva."
    elif invoice.status == QUEUED:
        message += " Para cambiarla, primero quítala de la cola."
    return _panel(stamping.Outcome(invoice, notice=message, stale=True))


@bp.post("/<int:invoice_id>/borrar")
def delete(invoice_id):
    """Delete a draft (never one that went to Alegra); a stale page gets the current state."""
    invoice = _get(invoice_id)
    title = invoice.title
    if not service.delete_draft(invoice, request.form.get("version", type=db_int) or 0):
        return _stale(invoice)
    flash(f"{title} borrado.", "ok")
    return redirect_to(url_for("invoices.index"))


@bp.post("/<int:invoice_id>/duplicar")
def duplicate(invoice_id):
    """Any invoice copied into a new draft dated today (customer, terms and lines)."""
    from ..home import today

    copy = service.duplicate(_get(invoice_id), today())
    flash(f"{copy.title}: copia de {_get(invoice_id).title}. Revísala y timbra cuando esté "
          "lista.", "ok")
    return redirect_to(url_for("invoices.show", invoice_id=copy.id))


@bp.post("/calcular")
def recalculate():
    """Live: totals, line amounts, field checks and the Timbrar button, without saving."""
    form = InvoiceForm()
    customer = service.customer_of(form)
    form.validate()
    trigger = request.form.get("_trigger")
    form.on_change(trigger, customer)
    form.check(customer)
    context = _editor_context(form, None, customer, trigger=trigger)
    return render_template("invoices/_live.html", **context)


@bp.post("/lineas")
def lines():
    """Add a product as a new line, or remove one; re-renders the lines and totals."""
    data = MultiDict(request.form)
    form = InvoiceForm(formdata=data)
    add = request.form.get("_add_product", type=db_int)
    remove = request.form.get("_remove", type=db_int)
    if add:
        product = db.session.get(Product, add)
        if product is not None and product.archived_at is None and \
                len(form.lines) < form.lines.max_entries:
            form.lines.append_entry(service.line_from_product(product))
    elif remove is not None and 0 <= remove < len(form.lines):
        entries = [e.data for i, e in enumerate(form.lines) if i != remove]
        form.lines.entries.clear()
        form.lines.last_index = -1
        for entry in entries:
            form.lines.append_entry(entry)
    customer = service.customer_of(form)
    form.validate()
    return render_template("invoices/_lines_and_totals.html",
                           **_editor_context(form, None, customer))


@bp.get("/buscar-cliente")
def pick_customer():
    """Pick list of customers (editor and list filter): a few matches, never a count."""
    text = request.args.get("cliente_q", "")[:100]
    results = catalog.picklist(Customer, text) if len(text.strip()) >= 2 else None
    return render_template("invoices/_pick_customer.html", results=results, q=text)


@bp.get("/buscar-producto")
def pick_product():
    """Pick list of products for the editor."""
    text = request.args.get("producto_q", "")[:100]
    results = catalog.picklist(Product, text) if len(text.strip()) >= 1 else None
    return render_template("invoices/_pick_product.html", results=results, q=text)


@bp.post("/<int:invoice_id>/timbrar")
def stamp(invoice_id):
    """Save what is on screen, then queue that very version; the panel shows its place in
    line and polls until the result swaps in."""
    invoice = _get(invoice_id)
    if not invoice.editable:
        return _locked(invoice)
    form, customer = _submitted(invoice)
    if not form.savable():
        return _unsavable(form, invoice, customer)
    seen = form.submitted_version()
    if not service.save(invoice, form.draft, seen):
        return _stale(invoice)
    # The version this very save wrote: if another tab saved since, the claim must lose.
    outcome = stamping.enqueue(invoice, seen + 1)
    return _panel(outcome, status=422 if outcome.blocked else 200,
                  form=form if invoice.editable else None)


@bp.get("/<int:invoice_id>/cola")
def queue_status(invoice_id):
    """Polled while queued or stamping: the small place-in-line box, then the whole result."""
    invoice = _get(invoice_id)
    if not is_htmx():
        return redirect_to(url_for("invoices.show", invoice_id=invoice.id))
    if invoice.status == STAMPING:
        stamping.reconcile(invoice)  # a claim whose worker died is read from Alegra at once
    if invoice.status in (QUEUED, STAMPING):
        return render_template("invoices/_queue.html", invoice=invoice,
                               place=queue.place(invoice))
    response = _panel(stamping.Outcome(invoice))
    response.headers["HX-Retarget"], response.headers["HX-Reswap"] = "#invoice", "outerHTML"
    return response


@bp.post("/<int:invoice_id>/quitar-de-la-cola")
def unqueue(invoice_id):
    """«Quitar de la cola»: back to draft, unless a worker already took it."""
    invoice = _get(invoice_id)
    version = request.form.get("version", type=db_int) or 0
    return _panel(stamping.unqueue(invoice, version))


@bp.post("/lotes")
def bulk_stamp():
    """«Timbrar seleccionadas»: check all, queue the ready ones, follow them on the lot page."""
    form = BulkStampForm()
    if not form.validate():
        flash("La selección no es válida; recarga la lista e intenta de nuevo.", "error")
        return redirect_to(url_for("invoices.index"))
    only_ready = bool(form.all_ready.data)
    selection = lots.ready_selection() if only_ready else form.selection()
    if form.invoices.errors:
        flash(form.invoices.errors[0], "error")
        return redirect_to(url_for("invoices.index"))
    if not selection:
        flash("No hay borradores para timbrar.", "error")
        return redirect_to(url_for("invoices.index"))
    left = lots.editable_count() - len(selection) if only_ready else 0
    lot = lots.create(selection, current_user.username, only_ready=only_ready)
    if not lot.items:
        flash("Ninguno de los borradores está listo para timbrar: ábrelos para ver qué falta.",
              "error")
        return redirect_to(url_for("invoices.index"))
    if left > 0:
        flash(f"Este lote lleva los {len(selection)} borradores más antiguos; quedan {left}. "
              "Cuando termine, presiona de nuevo «Timbrar todas las listas para timbrar».",
              "warning")
    return redirect_to(url_for("invoices.lot", lot_id=lot.id))


@bp.get("/lotes/<int:lot_id>")
def lot(lot_id):
    """A lot's live progress (polled while something is pending), then its summary."""
    found = db.session.get(lots.StampLot, lot_id) or abort(404)
    return render("invoices/lot.html", "invoices/_lot.html", progress=lots.progress(found),
                  kinds=lots.KINDS)


def _panel(outcome, status=200, form=None):
    invoice = outcome.invoice
    if outcome.stale:
        status, form = 409, None
    form = form or _form_for(invoice)
    context = _editor_context(form, invoice, invoice.customer, notice=outcome.notice,
                              blocked=outcome.blocked)
    return render(EDITOR, PANEL, status=status, **context)


@bp.post("/<int:invoice_id>/verificar")
def verify(invoice_id):
    """Resolve an unknown or pending invoice by reading Alegra (never by posting again)."""
    invoice = stamping.reconcile(_get(invoice_id))
    return _panel(stamping.Outcome(invoice))


@bp.get("/<int:invoice_id>/estado")
def status(invoice_id):
    """Polled while a cancellation is pending."""
    invoice = stamping.reconcile(_get(invoice_id))
    return _panel(stamping.Outcome(invoice))


@bp.post("/<int:invoice_id>/cancelar-sobrante/<int:attempt_id>")
def cancel_duplicate(invoice_id, attempt_id):
    """Cancel an extra CFDI Alegra holds for this invoice (motive 02)."""
    return _panel(stamping.cancel_duplicate(_get(invoice_id), attempt_id))


@bp.post("/<int:invoice_id>/cancelar")
def cancel(invoice_id):
    """Cancel with a SAT motive; 01 needs the UUID of the stamped replacement."""
    invoice = _get(invoice_id)
    motive = request.form.get("motive", "")
    replacement = request.form.get("replacement_uuid", "").strip().upper() or None
    errors = {}
    if motive not in cat.MOTIVOS_CANCELACION:
        errors["motive"] = "Elige el motivo de cancelación."
    elif motive == "01":
        valid = {i.uuid for i in replacements(invoice)}
        if replacement not in valid:
            errors["replacement_uuid"] = ("Con el motivo 01 elige la factura timbrada que "
                                          "sustituye a esta (emítela primero).")
    refusal = None if errors else payment_balances.cancel_refusal(invoice)
    if refusal:
        errors["motive"] = refusal
    if errors:
        context = _editor_context(_form_for(invoice), invoice, invoice.customer,
                                  cancel_errors=errors, cancel_motive=motive)
        return render(EDITOR, PANEL, status=422, **context)
    return _panel(stamping.cancel(invoice, motive, replacement if motive == "01" else None))


@bp.get("/<int:invoice_id>/<any(xml, pdf):kind>")
def download(invoice_id, kind):
    """Serve the XML or PDF from the local archive; fetch it from Alegra only if missing."""
    invoice = _get(invoice_id)
    return stored_file(
        invoice, kind,
        lambda: stamping.fetch_files(invoice, connection.make_client(invoice_id=invoice.id)),
        url_for("invoices.show", invoice_id=invoice.id))


@bp.app_template_global()
def queue_place(invoice):
    """Template helper: the invoice's place in the stamp queue and the estimated wait."""
    return queue.place(invoice)


@bp.app_template_global()
def replacement_choices(invoice):
    """Template helper for the cancel form."""
    return replacements(invoice)




@bp.app_template_global()
def live_attrs(trigger, event="change"):
    """htmx attributes of an editor input that triggers a live recalculation."""
    return {"hx-post": url_for("invoices.recalculate"), "hx-include": "#invoice-form",
            "hx-swap": "none", "hx-trigger": event, "hx-sync": LIVE_SYNC,
            "hx-vals": json.dumps({"_trigger": trigger})}


@bp.app_template_global("_line_live")
def line_live(index, name, label):
    """Live attributes of a line input (recalculated as the user types), with its label."""
    return {**live_attrs(f"lines-{index}-{name}", "input changed delay:300ms"),
            "aria-label": label}


@bp.app_context_processor
def cancel_motives():
    """The SAT cancellation motives for the cancel form, and the state names for templates."""
    return {"cancel_motives": cat.MOTIVOS_CANCELACION, "states": states,
            "line_inputs": LINE_INPUTS}
