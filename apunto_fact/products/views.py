"""Product views; rules in sat.rules, work in products.service."""
from flask import abort
from flask import flash
from flask import render_template
from flask import request
from flask import url_for

from .. import csvio
from ..extensions import db
from ..web import invalid
from ..web import redirect_to
from ..web import render
from . import bp
from . import service
from .forms import ProductForm
from .models import Product


@bp.get("/")
def index():
    """List products with live search and pagination."""
    text = request.args.get("q", "")[:100]
    archived = request.args.get("archivados") == "1"
    page = request.args.get("page", 1, type=int)
    results = service.search(text, max(page, 1), archived)
    return render("products/index.html", "products/_rows.html", results=results, q=text,
                  archived=archived)


def _edit_page(form, product, status):
    context = {"form": form, "product": product}
    if status == 422:
        return invalid("products/edit.html", "products/_form.html", **context)
    return render("products/edit.html", "products/_form.html", **context)


@bp.route("/nuevo", methods=["GET", "POST"])
def create():
    """Create a product or service."""
    form = ProductForm()
    if form.validate_on_submit():
        product = service.create(form.data, form.price)
        flash(f"Producto «{product.name}» guardado.", "ok")
        return redirect_to(url_for("products.index"))
    return _edit_page(form, None, 422 if form.is_submitted() else 200)


@bp.route("/<int:product_id>", methods=["GET", "POST"])
def edit(product_id):
    """Edit a product or service."""
    product = service.get(product_id) or abort(404)
    form = ProductForm(obj=product)
    if form.validate_on_submit():
        service.update(product, form.data, form.price)
        flash(f"Producto «{product.name}» actualizado.", "ok")
        return redirect_to(url_for("products.index"))
    return _edit_page(form, product, 422 if form.is_submitted() else 200)


@bp.post("/campos")
def live():
    """Re-check the product form after one field changed."""
    form = ProductForm()
    trigger = request.form.get("_trigger")
    if trigger not in ProductForm.LIVE_FIELDS:
        abort(400)
    return render_template("_live_fields.html", form=form, fields=form.live(trigger))


@bp.post("/<int:product_id>/archivar")
def archive(product_id):
    """Archive a product."""
    product = service.get(product_id) or abort(404)
    service.set_archived(product, True)
    flash(f"Producto «{product.name}» archivado.", "ok")
    return redirect_to(url_for("products.index"))


@bp.post("/<int:product_id>/restaurar")
def restore(product_id):
    """Bring an archived product back."""
    product = service.get(product_id) or abort(404)
    service.set_archived(product, False)
    flash(f"Producto «{product.name}» restaurado.", "ok")
    return redirect_to(url_for("products.index"))


def _import_forms():
    return lambda data: ProductForm(formdata=data, meta={"csrf": False}, live=False)


def _create_from(form):
    db.session.add(service.apply(Product(), form.data, form.price))


CSV = csvio.CsvSpec(
    name="productos",
    columns=[("name", "nombre"), ("sku", "codigo"), ("clave_prod_serv", "clave_prod_serv"),
             ("clave_unidad", "clave_unidad"), ("unit_price", "precio_unitario"),
             ("objeto_imp", "objeto_imp"), ("iva", "iva"), ("ieps", "ieps"),
             ("ret_isr", "retencion_isr"), ("ret_iva", "retencion_iva")],
    required=("nombre", "clave_prod_serv", "clave_unidad", "precio_unitario", "objeto_imp"),
    form_factory=_import_forms,
    create=_create_from,
    export_rows=service.export_rows,
    # Excel turns "02" into "2"; a percentage may come as "16%".
    normalizers={"objeto_imp": lambda v: v.zfill(2) if v.isdigit() else v,
                 "iva": lambda v: v.rstrip("% ").lower(),
                 "retencion_isr": lambda v: v.rstrip("% "),
                 "retencion_iva": lambda v: v.rstrip("% "),
                 "ieps": lambda v: v.rstrip("% ")},
)
csvio.register(bp, CSV, "products.index")
