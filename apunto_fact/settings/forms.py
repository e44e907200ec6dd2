"""Forms of Configuración."""
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import RadioField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length

from .alegra import ENVIRONMENTS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AlegraForm(FlaskForm):
    """Alegra API credentials; the token field is never pre-filled."""

    environment = RadioField("Entorno", choices=list(ENVIRONMENTS.items()), default="sandbox",
                             validators=[DataRequired("Elige un entorno.")])
    api_email = StringField("Usuario de la API (correo)", filters=[_strip], validators=[
        DataRequired("Escribe el correo con el que entras a Alegra."),
        Length(max=254, message="El correo no puede pasar de 254 caracteres."),
        Email("Escribe un correo válido, por ejemplo nombre@empresa.mx.")])
    api_token = PasswordField("API Key / token", filters=[_strip], validators=[
        Length(max=200, message="El token no puede pasar de 200 caracteres.")])
