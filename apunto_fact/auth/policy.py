"""Who may do what: the one table from endpoint to permission, and roles to permissions.

To protect a new view, add its endpoint (or its blueprint as "name.*") to POLICY.
An endpoint missing from the table is open to owners only (deny by default).
"""
from flask import request

OWNER = "dueno"
ROLES = {
    "dueno": "Dueño",
    "contador": "Contador",
    "capturista": "Capturista",
}
ROLE_HELP = {
    "dueno": "Todo, incluidos los usuarios y las credenciales de Alegra.",
    "contador": "Todo menos los usuarios y las credenciales de Alegra.",
    "capturista": "Clientes, productos y borradores de factura; no timbra ni cancela.",
}

# Permission -> roles that hold it (the owner holds every permission, listed or not).
PERMISSIONS = {
    "account": {"dueno", "contador", "capturista"},   # home, own password, sign out
    "catalogs": {"dueno", "contador", "capturista"},  # customers, products, SAT lookups
    "drafts": {"dueno", "contador", "capturista"},    # invoice list, editor, downloads
    "stamp": {"dueno", "contador"},
    "cancel": {"dueno", "contador"},
    "audit": {"dueno", "contador"},                   # bitácora
    "company": {"dueno", "contador"},                 # Datos fiscales
    "alegra": {"dueno"},                              # Alegra credentials
    "users": {"dueno"},
    "owner": {"dueno"},                               # other owner-only settings
}

# Endpoint (or "blueprint.*") -> permission. Exact endpoints win over blueprint entries.
POLICY = {
    "home": "account",
    "auth.logout": "account",
    "auth.own_password": "account",
    "auth.users": "users",
    "auth.user_toggle": "users",
    "auth.user_reset": "users",
    "auth.user_role": "users",
    "settings.index": "account",          # redirects to the first settings page allowed
    "settings.alegra_status": "account",  # the status badge in the top bar; shows no secret
    "settings.alegra": "alegra",
    "settings.alegra_demo": "alegra",
    "settings.alegra_diagnostic": "alegra",
    "settings.company_settings": "company",
    "settings.company_live": "company",
    "settings.company_vs_alegra": "company",
    "customers.*": "catalogs",
    "products.*": "catalogs",
    "sat.*": "catalogs",
    # Invoices are listed one by one (no "invoices.*"): a new action on fiscal documents
    # stays owner-only until someone decides who may use it.
    "invoices.index": "drafts",
    "invoices.show": "drafts",
    "invoices.lines": "drafts",
    "invoices.recalculate": "drafts",
    "invoices.pick_customer": "drafts",
    "invoices.pick_product": "drafts",
    "invoices.status": "drafts",
    "invoices.download": "drafts",
    "invoices.delete": "drafts",       # only drafts never sent to Alegra (invoices.service)
    "invoices.duplicate": "drafts",
    "invoices.stamp": "stamp",
    "invoices.queue_status": "drafts",  # reads the state of a queued stamp
    "invoices.unqueue": "stamp",
    "invoices.bulk_stamp": "stamp",
    "invoices.lot": "drafts",
    "invoices.verify": "stamp",
    "invoices.cancel": "cancel",
    "invoices.cancel_duplicate": "cancel",
    "audit.*": "audit",
    # Branch i12 (REP, e-mail, month archive), listed ahead of its merge.
    "archive.month": "audit",
    "mail.send": "stamp",
    "mail.settings": "owner",
    "payments.new": "stamp",
    "payments.create": "stamp",
    "payments.stamp": "stamp",
    "payments.verify": "stamp",
    "payments.discard": "stamp",
    "payments.cancel": "cancel",
    "payments.show": "drafts",
    "payments.download": "drafts",
    "payments.pending": "drafts",
}

# POST endpoints whose successful use is recorded with the user's name (UserAction).
AUDITED = {
    "invoices.stamp": "Timbrar",
    "invoices.unqueue": "Quitar de la cola de timbrado",
    "invoices.bulk_stamp": "Timbrar seleccionadas",
    "invoices.verify": "Verificar con Alegra",
    "invoices.cancel": "Cancelar",
    "invoices.cancel_duplicate": "Cancelar un CFDI sobrante",
    "invoices.duplicate": "Duplicar en un borrador nuevo",
    "settings.alegra": "Cambiar credenciales de Alegra",
    "settings.alegra_demo": "Usar credenciales de demostración",
    "settings.company_settings": "Cambiar datos fiscales",
    "auth.users": "Crear usuario",
    "auth.user_toggle": "Activar o desactivar usuario",
    "auth.user_reset": "Restablecer contraseña",
    "auth.user_role": "Cambiar rol",
    "auth.own_password": "Cambiar su contraseña",
    "payments.create": "Registrar y timbrar un pago (REP)",
    "payments.stamp": "Timbrar un pago (REP)",
    "payments.cancel": "Cancelar un pago (REP)",
    "mail.send": "Enviar por correo",
    "mail.settings": "Cambiar la configuración de correo",
}


def permission_for(endpoint):
    """Return the permission an endpoint needs, or None when the table does not list it."""
    if not endpoint:
        return None
    if endpoint in POLICY:
        return POLICY[endpoint]
    blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
    return POLICY.get(f"{blueprint}.*") if blueprint else None


def allowed(role, endpoint):
    """Return True when role may use endpoint; unlisted endpoints are for owners only."""
    if role == OWNER:
        return True
    permission = permission_for(endpoint)
    return permission is not None and role in PERMISSIONS.get(permission, ())


def can(user, endpoint):
    """Template helper: may user open endpoint (to hide links and buttons they can't use)."""
    return bool(user and user.is_authenticated and allowed(user.role, endpoint))


def audited_action():
    """Return the label of the current request when it is an audited POST, else None."""
    return AUDITED.get(request.endpoint) if request.method == "POST" else None
