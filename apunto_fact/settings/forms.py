"""Forms of Configuración."""
from wtforms import PasswordField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length

from ..customers.forms import AddressMixin
from ..forms import BaseForm
from ..forms import RuleForm
from ..forms import choices
from ..forms import strip
from ..forms import upper
from ..sat import catalogs as cat
from ..sat import rules
from ..sat.search import postal_code
from .alegra import ENVIRONMENTS


class AlegraForm(BaseForm):
    """Alegra API credentials; the token field is never pre-filled."""

    environment = RadioField("Entorno", choices=choices(ENVIRONMENTS), default="sandbox",
                             validators=[DataRequired("Elige un entorno.")])
    api_email = StringField("Usuario de la API (correo)", filters=[strip], validators=[
        DataRequired("Escribe el correo con el que entras a Alegra."),
        Length(max=254, message="El correo no puede pasar de 254 caracteres."),
        Email("Escribe un correo válido, por ejemplo nombre@empresa.mx.")])
    api_token = PasswordField("Token de la API", filters=[strip], validators=[
        Length(max=200, message="El token no puede pasar de 200 caracteres.")])


class CompanyForm(AddressMixin, RuleForm):
    """The emisor's fiscal data; the CP is the LugarExpedicion of every invoice."""

    LIVE_ENDPOINT = "settings.company_live"
    REQUIRED = ("rfc", "name", "regimen", "cp")
    LIVE_FIELDS = {"rfc": ["name", "regimen"], "name": [], "regimen": [], "cp": []}

    # Generous max lengths: WTForms turns them into maxlength, which would cut a pasted
    # " EKU9003173C9 " short; sat.rules gives the exact length message.
    rfc = StringField("RFC", filters=[upper], validators=[
        Length(max=20, message="El RFC tiene 12 o 13 caracteres.")])
    name = StringField("Razón social o nombre", filters=[strip], validators=[
        Length(max=300, message="Máximo 300 caracteres.")])
    regimen = SelectField("Régimen fiscal", validate_choice=False)
    cp = StringField("Código postal (lugar de expedición)", filters=[strip], validators=[
        Length(max=10, message="El código postal tiene 5 dígitos.")])

    def refresh(self):
        """Régimen options follow the persona type; the CP shows its estado."""
        check = rules.check_rfc(self.rfc.data)
        persona = check.persona if not check.error and not check.generic else None
        self.regimen.choices = choices(
            {c: cat.label(cat.REGIMENES, c) for c in cat.regimenes_for(persona)}, "Elige…")
        place = postal_code(self.cp.data) if self.cp.data else None
        self.cp.hint_text = place[0] if place else None
        if place and not self.estado.data:
            self.estado.data = place[0]

    def on_change(self, trigger, fix):
        """Strip the régimen capital when the user asks."""
        if trigger == "name" and fix == "strip_suffix":
            self.name.data = rules.without_capital_suffix(self.name.data or "")
            return {"name"}
        return set()

    def findings(self):
        """Check with sat.rules.check_company."""
        return rules.check_company(self.data)
