"""Configuración → Usuarios (owners only) and «Mi contraseña» (everyone)."""
from flask import abort
from flask import flash
from flask import url_for
from flask_login import current_user
from flask_login import login_user
from werkzeug.security import check_password_hash

from ..extensions import db
from ..web import invalid
from ..web import redirect_to
from ..web import render
from . import bp
from . import service
from .forms import NewUserForm
from .forms import OwnPasswordForm
from .forms import ResetPasswordForm
from .forms import RoleForm
from .models import User
from .policy import ROLE_HELP
from .policy import ROLES

PAGE = "auth/users.html"


def _get(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _page(form, status=200, **extra):
    users = db.session.query(User).order_by(User.active.desc(), User.username).all()
    context = {"form": form, "users": users, "roles": ROLES, "role_help": ROLE_HELP,
               "reset_form": ResetPasswordForm(formdata=None),
               "role_form": RoleForm(formdata=None), **extra}
    if status == 422:
        return invalid(PAGE, **context)
    return render(PAGE, **context)


@bp.route("/configuracion/usuarios", methods=["GET", "POST"])
def users():
    """List the accounts and create a new one."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = service.create_user(form.username.data, form.password.data, form.role.data)
        except ValueError as exc:
            form.username.errors.append(str(exc))
        else:
            flash(f"Usuario «{user.username}» creado como {ROLES[user.role]}.", "ok")
            return redirect_to(url_for("auth.users"))
    return _page(form, 422 if form.errors else 200)


@bp.post("/configuracion/usuarios/<int:user_id>/activo")
def user_toggle(user_id):
    """Disable an account (its open sessions stop at once) or enable it again."""
    user = _get(user_id)
    try:
        service.set_active(user, not user.active, current_user)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        flash(f"«{user.username}» {'activado' if user.active else 'desactivado'}.", "ok")
    return redirect_to(url_for("auth.users"))


@bp.post("/configuracion/usuarios/<int:user_id>/rol")
def user_role(user_id):
    """Change someone's role."""
    user, form = _get(user_id), RoleForm()
    if not form.validate_on_submit():
        flash("Elige un rol válido.", "error")
        return redirect_to(url_for("auth.users"))
    try:
        service.set_role(user, form.role.data, current_user)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        flash(f"«{user.username}» ahora es {ROLES[user.role]}.", "ok")
    return redirect_to(url_for("auth.users"))


@bp.post("/configuracion/usuarios/<int:user_id>/contrasena")
def user_reset(user_id):
    """Set a new password for someone; their open sessions end."""
    user, form = _get(user_id), ResetPasswordForm()
    if form.validate_on_submit():
        service.set_password(user, form.password.data)
        if user.id == current_user.id:
            login_user(user)
        flash(f"Contraseña de «{user.username}» cambiada; sus sesiones abiertas se cerraron.",
              "ok")
        return redirect_to(url_for("auth.users"))
    return _page(NewUserForm(formdata=None), 422, reset_form=form, reset_user=user)


@bp.route("/mi-cuenta/contrasena", methods=["GET", "POST"])
def own_password():
    """Change one's own password; every other session of the account ends."""
    form = OwnPasswordForm()
    if form.validate_on_submit():
        me = current_user._get_current_object()
        if not check_password_hash(me.password_hash, form.current.data):
            form.current.errors.append("La contraseña actual no es correcta.")
        else:
            try:
                service.set_password(me, form.password.data)
            except ValueError as exc:
                form.password.errors.append(str(exc))
            else:
                login_user(me)  # this window keeps working with the new session version
                flash("Contraseña cambiada. Las demás sesiones se cerraron.", "ok")
                return redirect_to(url_for("home"))
    if form.errors:
        return invalid("auth/own_password.html", form=form)
    return render("auth/own_password.html", form=form)
