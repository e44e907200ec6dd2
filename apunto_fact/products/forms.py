"""The product form: SAT keys by autocomplete, price as Decimal, taxes by ObjetoImp rules."""
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import Length
from wtforms.validators import Optional

from ..forms import RuleForm
from ..forms import choices
from ..forms import strip
from ..forms import upper
from ..sat import catalogs as cat
from ..sat import rules
from ..sat.search import PRODUCTOS
from ..sat.search import UNIDADES

NONE = "Sin"


class ProductForm(RuleForm):
    """Create or edit a product or service."""

    LIVE_ENDPOINT = "products.live"
    REQUIRED = ("name", "clave_prod_serv", "clave_unidad", "unit_price", "objeto_imp")
    # Typing words ("consultoria") searches the catalog; the key is checked once picked.
    CHECK_ON_CHANGE_ONLY = ("clave_prod_serv", "clave_unidad")
    LIVE_FIELDS = {
        "name": [],
        "clave_prod_serv": [],
        "clave_unidad": [],
        "unit_price": [],
        "objeto_imp": ["iva", "ieps", "ret_isr", "ret_iva"],
        "iva": ["objeto_imp"],
        "ieps": ["objeto_imp"],
        "ret_isr": ["objeto_imp"],
        "ret_iva": ["objeto_imp"],
    }

    name = StringField("Nombre", filters=[strip], validators=[
        Length(max=50, message="El nombre debe tener entre 2 y 50 caracteres (límite de Alegra).")])
    sku = StringField("Código interno (opcional)", filters=[strip], validators=[
        Optional(), Length(max=100, message="Máximo 100 caracteres.")])
    # The same inputs take search words ("consultoria"), so no 8/3-character maxlength;
    # sat.rules checks that the final value is a key of the catalog.
    clave_prod_serv = StringField("Clave de producto o servicio (SAT)", filters=[upper],
                                  validators=[Length(max=100, message="Máximo 100 caracteres.")])
    clave_unidad = StringField("Clave de unidad (SAT)", filters=[upper], validators=[
        Length(max=100, message="Máximo 100 caracteres.")])
    unit_price = StringField("Precio unitario (sin impuestos)", filters=[strip], validators=[
        Length(max=30, message="Escribe un precio, por ejemplo 1250.50.")])
    objeto_imp = SelectField("Objeto de impuesto", validate_choice=False, default="02",
                             choices=choices({c: f"{d} ({c})" for c, d in
                                              cat.OBJETOS_IMP.items()}))
    iva = SelectField("IVA", validate_choice=False, default="16",
                      choices=choices(cat.IVA_OPTIONS, NONE))
    ieps = SelectField("IEPS", validate_choice=False, choices=choices(cat.IEPS_OPTIONS, NONE))
    ret_isr = SelectField("Retención de ISR", validate_choice=False,
                          choices=choices(cat.RET_ISR_OPTIONS, NONE))
    ret_iva = SelectField("Retención de IVA", validate_choice=False,
                          choices=choices(cat.RET_IVA_OPTIONS, NONE))

    def refresh(self):
        """Show the description of the chosen SAT keys next to them."""
        for field, catalog in ((self.clave_prod_serv, PRODUCTOS), (self.clave_unidad, UNIDADES)):
            entry = catalog.get(field.data) if field.data else None
            field.hint_text = entry.description if entry else None

    def findings(self):
        """Check with sat.rules.check_product."""
        return rules.check_product(self.data)

    @property
    def price(self):
        """The unit price as Decimal (after a successful validate)."""
        return rules.parse_amount(self.unit_price.data, rules.Findings(), "unit_price")
