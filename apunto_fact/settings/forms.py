"""Forms of Configuración."""
from wtforms import PasswordField
from wtforms import RadioField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length

from ..forms import BaseForm
from ..forms import choices
from ..forms import strip
from .alegra import ENVIRONMENTS


class AlegraForm(BaseForm):
    """Alegra API credentials; the token field is never pre-filled."""

    environment = RadioField("Entorno", choices=choices(ENVIRONMENTS), default="sandbox",
                             validators=[DataRequired("Elige un entorno.")])
    api_email = StringField("Usuario de la API (correo)", filters=[strip], validators=[
        DataRequired("Escribe el correo con el que entras a Alegra."),
        Length(max=254, message="El correo no puede pasar de 254 caracteres."),
        Email("Escribe un correo válido, por ejemplo nombre@empresa.mx.")])
    api_token = PasswordField("API Key / token", filters=[strip], validators=[
        Length(max=200, message="El token no puede pasar de 200 caracteres.")])
