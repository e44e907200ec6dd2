"""The Alegra operations the app needs: every path and query shape lives here."""
from . import mapping


# -- sending by e-mail (alegra-evidence.md §4) ------------------------------------------------
def send_email(client, document_type, alegra_id, emails):
    """POST /invoices/{id}/email (or the REP's): not idempotent, never retried."""
    path = mapping.EMAIL_PATHS[document_type].format(id=alegra_id)
    return client.post(path, mapping.email_payload(emails))
