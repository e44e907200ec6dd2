"""Product views; rules in sat.rules, work in products.service."""
from flask import abort
from flask import flash
from flask import url_for

from .. import catalog
from .. import csvio
from ..extensions import db
from ..forms import live_response
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
    return catalog.list_page(Product, "products/index.html", "products/_rows.html")


@bp.route("/nuevo", methods=["GET", "POST"], defaults={"product_id": None})
@bp.route("/<int:product_id>", methods=["GET", "POST"])
def edit(product_id):
    """Create or edit a product or service."""
    product = db.session.get(Product, product_id) or abort(404) if product_id else None
    form = ProductForm(obj=product)
    if form.validate_on_submit():
        product = service.save(product, form.data, form.price)
        flash(f"Producto «{product.name}» guardado.", "ok")
        return redirect_to(url_for("products.index"))
    page = invalid if form.is_submitted() else render
    return page("products/edit.html", "products/_form.html", form=form, product=product)


@bp.post("/campos")
def live():
    """Re-check the product form after one field changed."""
    return live_response(ProductForm())


catalog.register_archiving(bp, Product, "Producto", "products.index")


def _import_forms():
    return lambda data: ProductForm(formdata=data, meta={"csrf": False}, live=False)


def _percent(value):
    return value.rstrip("% ").lower()


CSV = csvio.CsvSpec(
    name="productos",
    columns=[("name", "nombre"), ("sku", "codigo"), ("clave_prod_serv", "clave_prod_serv"),
             ("clave_unidad", "clave_unidad"), ("unit_price", "precio_unitario"),
             ("objeto_imp", "objeto_imp"), ("iva", "iva"), ("ieps", "ieps"),
             ("ret_isr", "retencion_isr"), ("ret_iva", "retencion_iva")],
    required=("nombre", "clave_prod_serv", "clave_unidad", "precio_unitario", "objeto_imp"),
    form_factory=_import_forms,
    create=lambda form: db.session.add(service.apply(Product(), form.data, form.price)),
    export_rows=lambda: catalog.export_rows(Product, service.FIELDS),
    # Excel turns "02" into "2"; a percentage may come as "16%".
    normalizers={"objeto_imp": lambda v: v.zfill(2) if v.isdigit() else v, "iva": _percent,
                 "ieps": _percent, "retencion_isr": _percent, "retencion_iva": _percent},
)
csvio.register(bp, CSV, "products.index")
