"""Forms of the owner account."""
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length

from ..forms import BaseForm
from .service import MIN_PASSWORD


class LoginForm(BaseForm):
    """Sign in."""

    username = StringField("Usuario", validators=[DataRequired("Escribe tu usuario."),
                                                  Length(max=80)])
    password = PasswordField("Contraseña", validators=[DataRequired("Escribe tu contraseña."),
                                                       Length(max=200)])


class OwnerForm(BaseForm):
    """First run: create the owner account."""

    username = StringField("Usuario", validators=[
        DataRequired("Escribe un nombre de usuario."),
        Length(max=80, message="Máximo 80 caracteres.")])
    password = PasswordField("Contraseña", validators=[
        DataRequired("Escribe una contraseña."),
        Length(min=MIN_PASSWORD, max=200,
               message=f"La contraseña debe tener entre {MIN_PASSWORD} y 200 caracteres.")])
    confirm = PasswordField("Repite la contraseña", validators=[
        DataRequired("Repite la contraseña."),
        EqualTo("password", "Las contraseñas no coinciden.")])
