"""Login, logout, first-run owner account and the login guard with the role policy."""
from urllib.parse import urlsplit

from flask import flash
from flask import make_response
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from ..extensions import csrf
from ..extensions import db
from ..web import invalid
from ..web import is_htmx
from ..web import render
from . import bp
from . import policy
from . import service
from .forms import LoginForm
from .forms import OwnerForm

PUBLIC_ENDPOINTS = {"auth.login", "auth.first_run", "static"}
FORBIDDEN = "Tu rol ({role}) no permite esta acción. Pide a un dueño de la cuenta que la haga."


@bp.before_app_request
def require_login():
    """Send anonymous visitors to first run or login, check the role policy, then CSRF.

    Login comes first so that an expired session sends the user to the login page
    instead of failing with a CSRF error.
    """
    if request.endpoint in PUBLIC_ENDPOINTS:
        csrf.protect()
        return None
    if current_user.is_authenticated:
        if not policy.allowed(current_user.role, request.endpoint):
            return forbidden()
        csrf.protect()
        return None
    target = "auth.first_run" if not service.has_users() else "auth.login"
    url = url_for(target, next=_safe_next(request.full_path)) if target == "auth.login" \
        else url_for(target)
    if is_htmx():
        # A fragment target must not receive the login page: make htmx navigate instead.
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def forbidden():
    """403 in Spanish: a page, or a panel htmx can swap in."""
    from ..errors import respond
    role = policy.ROLES.get(current_user.role, current_user.role)
    return respond(403, FORBIDDEN.format(role=role))


@bp.after_app_request
def record_action(response):
    """Record who used an audited action (stamp, cancel, settings, users) that succeeded."""
    label = policy.audited_action()
    if label and response.status_code < 400 and current_user.is_authenticated:
        from .models import UserAction
        from ..invoices.models import Invoice
        args = request.view_args or {}
        db.session.rollback()  # whatever the view left open is not ours to commit
        invoice_id = args.get("invoice_id")
        if invoice_id is not None and db.session.get(Invoice, invoice_id) is None:
            invoice_id = None  # a deleted draft: the action stays, its detail names it
        db.session.add(UserAction(user_id=current_user.id, username=current_user.username,
                                  action=label, invoice_id=invoice_id, detail=_detail(args)))
        db.session.commit()
    return response


@bp.app_template_global()
def invoice_actions(invoice_id):
    """Who stamped, verified or cancelled an invoice, oldest first (shown on the invoice)."""
    from .models import UserAction
    return db.session.query(UserAction).filter_by(invoice_id=invoice_id).order_by(
        UserAction.id).all()


def _detail(args):
    if "user_id" in args:
        return f"usuario #{args['user_id']}"
    if "invoice_id" in args:
        return f"factura #{args['invoice_id']}"
    return None


def _safe_next(url):
    """Keep only same-site relative paths, to avoid an open redirect or header injection."""
    if not url or not url.startswith("/") or url.startswith("//") or url.startswith("/\\"):
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in url) or urlsplit(url).netloc:
        return None
    return url.rstrip("?")


@bp.route("/primer-uso", methods=["GET", "POST"])
def first_run():
    """Create the owner account; only possible while no account exists."""
    if service.has_users():
        return redirect(url_for("auth.login"))
    form = OwnerForm()
    if form.validate_on_submit():
        try:
            user = service.create_first_owner(form.username.data, form.password.data)
        except service.FirstRunTaken:
            flash("La cuenta del dueño ya se creó desde otra ventana. Entra con ella.", "ok")
            return redirect(url_for("auth.login"), 303)
        except ValueError as exc:
            form.username.errors.append(str(exc))
        else:
            login_user(user)
            flash("Cuenta creada. Ahora conecta tu cuenta de Alegra.", "ok")
            return redirect(url_for("settings.alegra"), 303)
    if form.errors:
        return invalid("auth/first_run.html", form=form)
    return render("auth/first_run.html", form=form)


@bp.route("/entrar", methods=["GET", "POST"])
def login():
    """Sign in with username and password."""
    if not service.has_users():
        return redirect(url_for("auth.first_run"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.username.data, form.password.data)
        except service.LoginRefused as exc:
            form.password.errors.append(str(exc))
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("home"), 303)
    if form.errors:
        return invalid("auth/login.html", form=form)
    return render("auth/login.html", form=form)


@bp.post("/salir")
def logout():
    """Sign out, and end every copy of this session on the server side."""
    service.end_sessions(current_user._get_current_object())
    logout_user()
    return redirect(url_for("auth.login"), 303)


from . import users  # noqa: E402,F401  (user administration and own password)
