"""The Alegra operations the app needs: every path and query shape lives here."""
from . import mapping


# -- sending by e-mail (alegra-evidence.md §4) ------------------------------------------------
def send_email(client, document_type, alegra_id, emails):
    """POST /invoices/{id}/email (or the REP's): not idempotent, never retried."""
    path = mapping.EMAIL_PATHS[document_type].format(id=alegra_id)
    return client.post(path, mapping.email_payload(emails))


# -- payments received and their REP (alegra-evidence.md §4, pagos20.md §5) ------------------
def list_bank_accounts(client):
    """Every bank account of the account (GET /bank-accounts)."""
    return client.list_all("/bank-accounts")


def create_payment(client, payload, read_timeout=None):
    """POST /payments asking to stamp in the same call; never retried (not idempotent)."""
    return client.post("/payments?fields=pdf,xml", payload, read_timeout=read_timeout)


def stamp_payment(client, payment_id, read_timeout=None):
    """POST /payments/{id}/stamp for a payment Alegra registered without stamping (no body)."""
    return client.post(f"/payments/{payment_id}/stamp?fields=pdf,xml", None,
                       read_timeout=read_timeout)


def get_payment(client, payment_id, files=False):
    """GET /payments/{id} (with the XML/PDF URLs when files)."""
    return client.get(f"/payments/{payment_id}", {"fields": "pdf,xml"} if files else None)


def list_payments(client, contact_id, date):
    """Received payments of a contact on a date: where an attempt marker is searched."""
    return client.list_all("/payments", {"type": mapping.PAYMENT_TYPE_RECEIVED,
                                         "client_id": contact_id, "date": date})


def void_payment(client, payment_id, payload):
    """POST /payments/{id}/void: for a stamped REP, the SAT cancellation."""
    return client.post(f"/payments/{payment_id}/void", payload)
