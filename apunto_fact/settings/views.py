"""Configuración views: Integraciones → Alegra."""
from flask import redirect
from flask import request
from flask import render_template
from flask import url_for

from .. import crypto
from ..forms import live_response
from ..web import invalid
from ..web import is_htmx
from ..web import render
from . import alegra
from . import bp
from . import company
from . import diagnostic
from .forms import AlegraForm
from .forms import CompanyForm

PAGE = "settings/alegra.html"
PANEL = "settings/_alegra_panel.html"


@bp.get("/")
def index():
    """Configuración starts at the first of its pages the user's role may open."""
    from flask_login import current_user

    from ..auth.policy import can
    for endpoint in ("settings.alegra", "settings.company_settings", "auth.own_password"):
        if can(current_user, endpoint):
            return redirect(url_for(endpoint))
    return redirect(url_for("home"))


def _panel_context(form, conn, saved=False):
    try:
        ending, key_error = alegra.token_ending(conn), None
    except crypto.KeyProblem as exc:
        ending, key_error = None, str(exc)
    return {"form": form, "conn": conn, "token_ending": ending, "key_error": key_error,
            "saved": saved, "environments": alegra.ENVIRONMENTS}


@bp.route("/integraciones/alegra", methods=["GET", "POST"], endpoint="alegra")
def alegra_settings():
    """Show and save the Alegra credentials; the status loads by itself."""
    conn = alegra.connection()
    form = AlegraForm(obj=conn)
    if form.validate_on_submit():
        errors = alegra.save_credentials(conn, form.environment.data, form.api_email.data,
                                         form.api_token.data)
        for field, message in errors.items():
            getattr(form, field).errors.append(message)
        if not errors:
            if not is_htmx():
                return redirect(url_for("settings.alegra"), 303)
            return render(PAGE, PANEL, **_panel_context(AlegraForm(obj=conn), conn, saved=True))
    if form.errors:
        return invalid(PAGE, PANEL, **_panel_context(form, conn))
    return render(PAGE, PANEL, **_panel_context(form, conn))


@bp.post("/integraciones/alegra/demo")
def alegra_demo():
    """Fill in the local sandbox's demo credentials with one click."""
    conn = alegra.connection()
    alegra.use_demo_credentials(conn)
    if not is_htmx():
        return redirect(url_for("settings.alegra"), 303)
    return render(PAGE, PANEL, **_panel_context(AlegraForm(obj=conn), conn, saved=True))


@bp.post("/integraciones/alegra/estado")
def alegra_status():
    """Check the connection now and return the status fragment."""
    conn = alegra.check_connection()
    if not is_htmx():
        return redirect(url_for("settings.alegra"), 303)
    return render(PAGE, "settings/_alegra_status.html", conn=conn)


@bp.post("/integraciones/alegra/diagnostico")
def alegra_diagnostic():
    """«Revisar mi cuenta de Alegra»: read-only checks, the findings as a fragment."""
    conn = alegra.connection()
    report = diagnostic.run(conn)
    diagnostic.remember(report, conn)
    return render(PAGE, "settings/_alegra_diagnostic.html", report=report,
                  **_panel_context(AlegraForm(obj=conn), conn))


@bp.route("/facturacion", methods=["GET", "POST"])
def company_settings():
    """The company's fiscal data (emisor)."""
    current = company.get()
    suggested = None
    if current is None and request.method == "GET" and request.args.get("desde") == "alegra":
        suggested = company.suggestion_from_alegra()
    form = CompanyForm(obj=current, data=suggested)
    if form.validate_on_submit():
        company.save(form.data)
        if not is_htmx():
            return redirect(url_for("settings.company_settings"), 303)
        return render("settings/company.html", "settings/_company_form.html",
                      form=CompanyForm(obj=company.get()), saved=True)
    if form.is_submitted():
        return invalid("settings/company.html", "settings/_company_form.html", form=form)
    return render("settings/company.html", form=form, suggested=suggested)


@bp.post("/facturacion/campos")
def company_live():
    """Re-check the company form after one field changed."""
    return live_response(CompanyForm())


@bp.get("/facturacion/alegra")
def company_vs_alegra():
    """Compare our fiscal data with what Alegra has for the account (fragment)."""
    return render_template("settings/_company_vs_alegra.html",
                           comparison=company.compare_with_alegra())
