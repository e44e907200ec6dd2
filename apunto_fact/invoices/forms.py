"""The invoice editor: header fields and lines; SAT rules via sat.rules."""
from datetime import date

from wtforms import DateField
from wtforms import FieldList
from wtforms import FormField
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.validators import Length
from wtforms.validators import Optional

from ..forms import BaseForm
from ..forms import SubForm
from ..forms import choices
from ..forms import mark_sent
from ..forms import strip
from ..sat import catalogs as cat
from ..sat import rules
from ..settings import company as settings_company
from . import editor
from .. import timeutil

CURRENCIES = {"MXN": "MXN - Peso mexicano", "USD": "USD - Dólar estadounidense",
              "EUR": "EUR - Euro", "CAD": "CAD - Dólar canadiense", "GBP": "GBP - Libra esterlina",
              "JPY": "JPY - Yen"}
MAX_LINES = 200


class LineForm(SubForm):
    """One concepto as typed; SAT keys and taxes come from the product, not the browser."""

    product_id = IntegerField(validators=[Optional()])
    description = StringField("Descripción", filters=[strip], validators=[
        Length(max=1000, message="Hasta 1000 caracteres.")])
    quantity = StringField("Cantidad", filters=[strip], validators=[Length(max=30)])
    unit_price = StringField("Precio unitario", filters=[strip], validators=[Length(max=30)])
    discount_pct = StringField("Descuento %", filters=[strip], validators=[Length(max=10)])


class InvoiceForm(BaseForm):
    """Header and lines of a draft invoice."""

    customer_id = HiddenField()
    # The version of the invoice this editor shows: a save or stamp of an older one is refused.
    version = HiddenField()
    date = DateField("Fecha", default=date.today, validators=[Optional()],
                     render_kw={"required": False})
    currency = SelectField("Moneda", choices=choices(CURRENCIES), default="MXN")
    exchange_rate = StringField("Tipo de cambio (pesos por unidad)", filters=[strip],
                                validators=[Length(max=20, message="Escribe un número.")])
    uso_cfdi = SelectField("Uso del CFDI", validate_choice=False)
    metodo_pago = SelectField("Método de pago", validate_choice=False,
                              choices=choices(cat.options(cat.METODOS_PAGO), "Elige…"))
    forma_pago = SelectField("Forma de pago", validate_choice=False)
    observations = TextAreaField("Observaciones (se imprimen en el PDF)", filters=[strip],
                                 validators=[Length(max=500, message="Hasta 500 caracteres.")])
    # InformacionGlobal: asked only when the customer is PUBLICO EN GENERAL (factura global).
    global_periodicidad = SelectField("Periodicidad", validate_choice=False, choices=choices(
        {c: f"{c} - {n}" for c, n in cat.PERIODICIDADES.items()}, "Elige…"))
    global_meses = SelectField("Mes o bimestre", validate_choice=False, choices=choices(
        {c: f"{c} - {n}" for c, n in cat.MESES.items()}, "Elige…"))
    global_anio = StringField("Año", filters=[strip],
                              validators=[Length(max=4, message="Escribe el año, por ejemplo "
                                                                "2026.")])
    lines = FieldList(FormField(LineForm), max_entries=MAX_LINES)

    def refresh(self, customer):
        """Uso options follow the customer's régimen; forma options follow the método."""
        if customer is not None:
            persona = rules.check_rfc(customer.rfc).persona
            usos = cat.usos_for(customer.regimen, persona)
        else:
            usos = list(cat.USOS_CFDI)
        self.uso_cfdi.choices = choices({c: cat.label(cat.USOS_CFDI, c) for c in usos}, "Elige…")
        formas = rules.allowed_formas(self.metodo_pago.data)
        self.forma_pago.choices = choices({c: cat.label(cat.FORMAS_PAGO, c) for c in formas},
                                          None if formas == ["99"] else "Elige…")

    def on_change(self, trigger, customer):
        """Values a live check sets on purpose: a new customer's defaults; PPD ⇒ forma 99."""
        sent = {name: self[name].data for name in ("uso_cfdi", "metodo_pago", "forma_pago")}
        if trigger == "customer_id" and customer is not None:
            self.uso_cfdi.data = customer.uso_cfdi
            self.metodo_pago.data = customer.metodo_pago
            self.forma_pago.data = customer.forma_pago
            if rules.is_publico_en_general(customer.rfc, customer.name) and \
                    not self.global_periodicidad.data:
                # A factura global usually covers the current month.
                today = timeutil.today()
                self.global_periodicidad.data = "04"
                self.global_meses.data = f"{today.month:02d}"
                self.global_anio.data = str(today.year)
        if trigger == "metodo_pago" and self.metodo_pago.data == "PPD":
            self.forma_pago.data = "99"
        for name, value in sent.items():
            mark_sent(self[name], value, self[name].data != value)

    def check(self, customer, today=None, old_lines=()):
        """Number and SAT checks of what was typed; errors land on their fields.

        Errors already present come from WTForms' own validators (lengths, a bad date,
        control characters): they are structural, because they alone keep a draft from being
        saved. Leaves the parsed editor in ``self.draft``.
        """
        self.structural = bool(self.errors)
        header = rules.check_invoice_header(
            {"date": self.date.data, "currency": self.currency.data,
             "observations": self.observations.data,
             "exchange_rate": self.exchange_rate.data, "uso_cfdi": self.uso_cfdi.data,
             "metodo_pago": self.metodo_pago.data, "forma_pago": self.forma_pago.data},
            customer, today or timeutil.today())
        for name, message in header.errors.items():
            self[name].errors = [*self[name].errors, message]
        self.draft = editor.parse(self, customer, old_lines)
        if customer is not None and rules.is_publico_en_general(customer.rfc, customer.name):
            company = settings_company.get()
            found = rules.check_global_info(
                {"periodicidad": self.global_periodicidad.data, "meses": self.global_meses.data,
                 "anio": self.global_anio.data, "uso_cfdi": self.uso_cfdi.data}, customer,
                company.cp if company else None, today or timeutil.today(),
                company.regimen if company else None)
            for name, message in found.errors.items():
                if name.startswith("global_") and message not in self[name].errors:
                    self[name].errors = [*self[name].errors, message]
        return self.draft

    def parsed(self, customer, old_lines=()):
        """The editor's value: the one check() made, or a parse that marks no field."""
        if getattr(self, "draft", None) is None:
            self.draft = editor.parse(self, customer, old_lines, attach=False)
        return self.draft

    def submitted_version(self):
        """The version the editor was showing, or None when missing or not a number."""
        raw = (self.version.data or "").strip()
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None

    def savable(self):
        """True when a draft can be stored: fields fit and every amount parses.

        SAT-rule findings do not count: an incomplete draft is still worth keeping.
        """
        numeric = ("product_id", "quantity", "unit_price", "discount_pct")
        return not getattr(self, "structural", False) and \
            not any(e.form[n].errors for e in self.lines for n in numeric) and \
            not self.exchange_rate.errors and not self.date.errors


class BulkStampForm(BaseForm):
    """«Timbrar seleccionadas»: the ticked invoices as "id:version" (the version on screen),
    or every invoice ready to stamp."""

    invoices = SelectMultipleField("Facturas", validate_choice=False)
    selected = SubmitField("Timbrar seleccionadas")
    all_ready = SubmitField("Timbrar todas las listas para timbrar")

    def selection(self):
        """[(invoice_id, version)] of the ticked boxes; a value that is not ours is an error."""
        chosen = []
        for raw in self.invoices.data or []:
            invoice_id, _, version = str(raw).partition(":")
            if not (_small_int(invoice_id) and _small_int(version)):
                self.invoices.errors = ["Esa selección no es válida; recarga la lista."]
                return []
            chosen.append((int(invoice_id), int(version)))
        # One entry per invoice (the first version seen): a lot holds each invoice once.
        unique = list({invoice_id: (invoice_id, version)
                       for invoice_id, version in reversed(chosen)}.values())[::-1]
        if not unique and not self.all_ready.data:
            self.invoices.errors = ["Marca al menos una factura, o usa «Timbrar todas las "
                                    "listas para timbrar»."]
        from .lots import MAX_LOT
        if len(unique) > MAX_LOT:
            self.invoices.errors = [f"Se pueden timbrar hasta {MAX_LOT} facturas a la vez."]
            return []
        return unique


def _small_int(text):
    return text.isascii() and text.isdigit() and len(text) < 10
