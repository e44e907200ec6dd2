"""The customer form: every CFDI 4.0 receptor field, checked by sat.rules."""
from wtforms import EmailField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from ..forms import RuleForm
from ..forms import choices
from ..forms import strip
from ..forms import upper
from ..sat import catalogs as cat
from ..sat import rules
from ..sat.search import postal_code

PICK = "Elige…"


def _text(label, max_length, required=False, **kwargs):
    checks = [DataRequired(f"Escribe {label.lower()}.")] if required else [Optional()]
    checks.append(Length(max=max_length, message=f"Máximo {max_length} caracteres."))
    return StringField(label, filters=[strip], validators=checks, **kwargs)


class AddressMixin:
    """Optional street address (shown on the PDF; the SAT only needs the CP)."""

    street = _text("Calle", 200)
    exterior = _text("Número exterior", 50)
    interior = _text("Número interior", 50)
    colonia = _text("Colonia", 200)
    municipio = _text("Municipio o alcaldía", 200)
    estado = _text("Estado", 100)


class CustomerForm(AddressMixin, RuleForm):
    """Create or edit a customer."""

    LIVE_ENDPOINT = "customers.live"
    REQUIRED = ("rfc", "name", "regimen", "uso_cfdi", "cp", "metodo_pago", "forma_pago")
    LIVE_FIELDS = {
        "rfc": ["name", "regimen", "uso_cfdi", "cp"],
        "name": [],
        "regimen": ["uso_cfdi"],
        "uso_cfdi": [],
        "metodo_pago": ["forma_pago"],
        "forma_pago": [],
        "cp": [],
    }

    # Generous max lengths: WTForms turns them into maxlength, which would cut a pasted
    # " EKU9003173C9 " short; sat.rules gives the exact length message.
    rfc = StringField("RFC", filters=[upper], validators=[
        Length(max=20, message="El RFC tiene 12 o 13 caracteres.")])
    name = StringField("Razón social o nombre", filters=[strip], validators=[
        Length(max=300, message="Máximo 300 caracteres.")])
    regimen = SelectField("Régimen fiscal", validate_choice=False)
    uso_cfdi = SelectField("Uso del CFDI", validate_choice=False)
    metodo_pago = SelectField("Método de pago", validate_choice=False,
                              choices=choices(cat.options(cat.METODOS_PAGO), PICK))
    forma_pago = SelectField("Forma de pago", validate_choice=False)
    credit_days = IntegerField("Días de crédito", default=0, validators=[
        InputRequired("Escribe los días de crédito (0 si paga de contado)."),
        NumberRange(min=0, max=3650, message="Escribe un número de días entre 0 y 3650.")])
    partner_type = SelectField("Tipo de socio", choices=choices(cat.TIPOS_SOCIO),
                               default="cliente")
    cp = StringField("Código postal del domicilio fiscal", filters=[strip], validators=[
        Length(max=10, message="El código postal tiene 5 dígitos.")])
    email = EmailField("Correo para enviar facturas", filters=[strip], validators=[
        Optional(), Length(max=254, message="Máximo 254 caracteres."),
        Email("Escribe un correo válido, por ejemplo facturas@cliente.mx.")])

    def __init__(self, *args, company_cp=None, customer_id=None, rfc_owner=None, **kwargs):
        self.company_cp = company_cp
        self.customer_id = customer_id
        # Who already holds an RFC: a query by default, a preloaded dict for CSV imports.
        self.rfc_owner = rfc_owner
        super().__init__(*args, **kwargs)
        self.credit_days.errors = []

    def _rfc(self):
        return rules.check_rfc(self.rfc.data)

    def refresh(self):
        """Options follow the RFC's persona type, the régimen and the método de pago."""
        rfc = self._rfc()
        persona = rfc.persona if not rfc.error else None
        regimenes = ["616"] if rfc.generic else cat.regimenes_for(persona)
        self.regimen.choices = choices({c: cat.label(cat.REGIMENES, c) for c in regimenes}, PICK)
        regimen = self.regimen.data if self.regimen.data in cat.REGIMENES else None
        usos = ["S01"] if rfc.rfc == cat.GENERIC_FOREIGN else cat.usos_for(regimen, persona)
        self.uso_cfdi.choices = choices({c: cat.label(cat.USOS_CFDI, c) for c in usos}, PICK)
        formas = rules.allowed_formas(self.metodo_pago.data)
        self.forma_pago.choices = choices({c: cat.label(cat.FORMAS_PAGO, c) for c in formas},
                                          None if formas == ["99"] else PICK)
        place = postal_code(self.cp.data) if self.cp.data else None
        self.cp.hint_text = f"{place[0]}" if place else None

    def on_change(self, trigger, fix):
        """Fill what the SAT fixes for us; lock forma 99 under PPD."""
        changed = set()
        rfc = self._rfc()
        if trigger == "rfc" and rfc.generic:
            self.regimen.data, self.uso_cfdi.data = "616", "S01"
            changed |= {"regimen", "uso_cfdi"}
            if self.company_cp:
                self.cp.data = self.company_cp
                changed.add("cp")
        if trigger == "metodo_pago" and self.metodo_pago.data == "PPD":
            self.forma_pago.data = "99"
        if trigger == "metodo_pago" and self.metodo_pago.data == "PUE" and \
                self.forma_pago.data == "99":
            self.forma_pago.data = ""
        if trigger == "name" and fix == "strip_suffix":
            self.name.data = rules.without_capital_suffix(self.name.data or "")
            changed.add("name")
        return changed

    def findings(self):
        """Check with the same rules as the pre-stamp check, plus RFC uniqueness."""
        found = rules.check_customer(self.data, company_cp=self.company_cp)
        if "rfc" not in found.errors:
            from .service import rfc_taken
            rfc = rules.normalize_rfc(self.rfc.data)
            other = self.rfc_owner(rfc) if self.rfc_owner else rfc_taken(rfc, self.customer_id)
            if other:
                state = " (archivado)" if other.archived_at else ""
                found.error("rfc", f"Ya existe un cliente con este RFC: {other.name}{state}.")
        return found
