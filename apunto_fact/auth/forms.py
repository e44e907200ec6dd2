"""Forms of accounts: sign in, first run, users, passwords."""
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length
from wtforms.validators import ValidationError

from ..forms import BaseForm
from ..forms import choices
from . import passwords
from .policy import ROLES

PASSWORD_HINT = (f"Al menos {passwords.MIN_PASSWORD} caracteres; no uses contraseñas comunes "
                 "como «12345678» o «password».")


def _policy(form, field):
    """Refuse short and common passwords with zxcvbn (auth.passwords)."""
    username = getattr(form, "username", None)
    name = username.data if username is not None and hasattr(username, "data") else ""
    reason = passwords.problem(field.data, name if isinstance(name, str) else "")
    if reason:
        raise ValidationError(reason)


def _new_password(label="Contraseña"):
    return PasswordField(label, validators=[DataRequired("Escribe una contraseña."),
                                            _policy])


def _confirm():
    return PasswordField("Repite la contraseña", validators=[
        DataRequired("Repite la contraseña."),
        EqualTo("password", "Las contraseñas no coinciden.")])


def _username():
    return StringField("Usuario", validators=[
        DataRequired("Escribe un nombre de usuario."),
        Length(max=80, message="Máximo 80 caracteres.")])


class LoginForm(BaseForm):
    """Sign in."""

    username = StringField("Usuario", validators=[DataRequired("Escribe tu usuario."),
                                                  Length(max=80)])
    password = PasswordField("Contraseña", validators=[DataRequired("Escribe tu contraseña."),
                                                       Length(max=200)])


class OwnerForm(BaseForm):
    """First run: create the owner account."""

    username = _username()
    password = _new_password()
    confirm = _confirm()


class NewUserForm(BaseForm):
    """Owner creates an account for a bookkeeper or a clerk."""

    username = _username()
    role = SelectField("Rol", choices=choices(ROLES), default="capturista")
    password = _new_password("Contraseña inicial")
    confirm = _confirm()


class ResetPasswordForm(BaseForm):
    """Owner sets a new password for someone who forgot theirs."""

    password = _new_password("Contraseña nueva")
    confirm = _confirm()


class RoleForm(BaseForm):
    """Owner changes someone's role."""

    role = SelectField("Rol", choices=choices(ROLES))


class OwnPasswordForm(BaseForm):
    """Anyone changes their own password (knowing the current one)."""

    current = PasswordField("Contraseña actual", validators=[
        DataRequired("Escribe tu contraseña actual."), Length(max=200)])
    password = _new_password("Contraseña nueva")
    confirm = _confirm()
