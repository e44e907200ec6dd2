"""The Alegra operations the app needs: every path and query shape lives here.

Callers pass an AlegraClient (alegra/client.py) and get decoded bodies or mapped values
back; payloads are built by alegra/mapping.py. Nothing outside alegra/ writes an Alegra
path. Sources for each shape: ../shared/reference/alegra-evidence.md (cited as in
mapping.py: MX-CAT, SCHEMA, CLI, PYPI, CODE).
"""
from ..timeutil import utcnow
from . import mapping
from .client import AlegraError
from .client import unwrap_list

# How many list pages a lookup reads when Alegra may ignore the filter (evidence §3):
# a bounded scan finds records the app linked, without walking a large account whole.
LOOKUP_PAGES = 5
PAGE_SIZE = 30


# -- company and account catalogs (read only) -------------------------------------------------
def get_company(client, **kwargs):
    """GET /company, mapped (evidence §1)."""
    return mapping.company_from_alegra(client.get("/company", **kwargs))


def get_company_raw(client):
    """GET /company as Alegra sends it (the diagnostic reads more than CompanyInfo)."""
    body = client.get("/company")
    return body if isinstance(body, dict) else {}


def list_taxes(client):
    """Every tax of the account (GET /taxes, paginated)."""
    return client.list_all("/taxes")


def list_retentions(client):
    """Every retention of the account (GET /retentions, paginated)."""
    return client.list_all("/retentions")


def list_number_templates(client):
    """Every numbering of the account (GET /number-templates; Alegra pages them by 10)."""
    return client.list_all("/number-templates")


def list_terms(client):
    """Payment terms of the account: rows {id, name, days} (GET /terms, SCHEMA)."""
    return client.list_all("/terms")


def list_currencies(client):
    """Currencies active in the account with their rate (GET /currencies)."""
    return client.list_all("/currencies")


def list_catalog(client, kind):
    """One of the cached catalogs by its path name: taxes, retentions, number-templates, terms."""
    return {"taxes": list_taxes, "retentions": list_retentions,
            "number-templates": list_number_templates, "terms": list_terms}[kind](client)


# -- contacts ---------------------------------------------------------------------------------
def get_contact(client, contact_id):
    """GET /contacts/{id}."""
    return client.get(f"/contacts/{contact_id}")


def find_contacts(client, rfc):
    """Contacts whose identification is exactly rfc.

    Alegra's ``identification`` filter may match exactly, partially or not at all
    (evidence §3), so every row is compared here; a bounded number of pages is read.
    """
    wanted = (rfc or "").strip().upper()
    return [row for row in _scan(client, "/contacts", {"identification": wanted})
            if mapping.contact_rfc(row) == wanted]


def create_contact(client, payload):
    """POST /contacts; return (contact_id, created).

    A repeated RFC answers code 2006 with the existing ``contactId`` (evidence §1, CODE):
    that contact is Alegra's own exact match on the RFC, returned with created=False.
    """
    try:
        return mapping.to_id(client.post("/contacts", payload).get("id")), True
    except AlegraError as err:
        if err.code != 2006 or not err.body.get("contactId"):
            raise
        return mapping.to_id(err.body["contactId"]), False


def update_contact(client, contact_id, payload):
    """PUT /contacts/{id} — only ever called for a contact the app created or linked."""
    return client.put(f"/contacts/{contact_id}", payload)


def find_or_create_contact(client, payload, rfc, *, lookup=True):
    """Return (contact_id, origin) with origin "created" or "linked" (exact RFC match)."""
    if lookup:
        rows = find_contacts(client, rfc)
        if rows:
            return mapping.to_id(rows[0].get("id")), "linked"
    contact_id, created = create_contact(client, payload)
    return contact_id, "created" if created else "linked"


# -- items ------------------------------------------------------------------------------------
def get_item(client, item_id):
    """GET /items/{id}."""
    return client.get(f"/items/{item_id}")


def find_items(client, reference):
    """Items whose reference is exactly ``reference`` (the filter itself is not trusted)."""
    return [row for row in _scan(client, "/items", {"reference": reference})
            if mapping.item_reference(row) == reference]


def create_item(client, payload):
    """POST /items; return the new id."""
    return mapping.to_id(client.post("/items", payload).get("id"))


def update_item(client, item_id, payload):
    """PUT /items/{id} — only ever called for an item the app created or linked."""
    return client.put(f"/items/{item_id}", payload)


# -- invoices ---------------------------------------------------------------------------------
def create_and_stamp_invoice(client, payload, *, read_timeout=None):
    """POST /invoices with stamp.generateStamp (evidence §1); return the raw body.

    ``?fields=pdf,xml`` is asked for, but whether POST honours it is unknown (§3): the
    caller falls back to get_invoice(files=True).
    """
    return client.post("/invoices?fields=pdf,xml", payload, read_timeout=read_timeout)


def get_invoice(client, invoice_id, *, files=False):
    """GET /invoices/{id}; files=True adds the PDF and XML URLs (evidence §1)."""
    params = {"fields": "pdf,xml"} if files else None
    return client.get(f"/invoices/{invoice_id}", params)


def invoice_lookup(contact_id, day):
    """The list query that finds an attempt's invoice: ``client_id`` and ``date`` (CLI)."""
    return {"client_id": contact_id, "date": day.isoformat()}


def list_invoices(client, contact_id, day):
    """Invoices of one contact on one date."""
    return client.list_all("/invoices", invoice_lookup(contact_id, day))


class InvoiceListings:
    """Invoice listings read once per lookup and shared by every attempt searched in them.

    Reconciling many invoices, those posted for the same contact on the same date share one
    listing (every page) instead of listing it again each. A row without ``observations``
    (evidence §3) is read in full once, and only when it could be under the lookup: a row
    that shows another contact or date (a filter Alegra applied partially or ignored) is
    not one of the attempts looked up there. Rows are only ever matched by marker.
    """

    def __init__(self, client):
        self.client = client
        self._rows = {}
        self._full = {}
        self._listed_at = {}

    def find(self, lookup, markers):
        """{marker: InvoiceInfo} of the invoices under lookup carrying one of markers."""
        return {info.marker: info for info in self.rows(lookup) if info.marker in markers}

    def listed_at(self, lookup):
        """When the listing of lookup began (utcnow), or None before it is read."""
        return self._listed_at.get(_key(lookup))

    def rows(self, lookup):
        """The mapped rows of lookup's listing, read on first use."""
        key = _key(lookup)
        if key not in self._rows:
            started = utcnow()
            listed = self.client.list_all("/invoices", lookup)
            self._rows[key] = [self._readable(row, lookup) for row in listed]
            self._listed_at[key] = started
        return self._rows[key]

    def _readable(self, row, lookup):
        info = mapping.invoice_from_alegra(row)
        if info.has_observations or not info.id or not _may_be_under(row, lookup):
            return info
        if info.id not in self._full:
            self._full[info.id] = mapping.invoice_from_alegra(get_invoice(self.client, info.id))
        return self._full[info.id]


def _key(lookup):
    return tuple(sorted((str(k), str(v)) for k, v in lookup.items()))


def _may_be_under(row, lookup):
    """False only when the row itself shows a contact or date other than the lookup's."""
    client = row.get("client")
    contact = client.get("id") if isinstance(client, dict) else client
    if contact not in (None, "") and str(contact) != str(lookup.get("client_id")):
        return False
    day = str(row.get("date") or "")[:10]
    return not day or day == str(lookup.get("date"))


def find_invoices_by_markers(client, lookup, markers, listings=None):
    """{marker: InvoiceInfo} of the listed invoices carrying one of our markers (read only).

    List rows may or may not carry ``observations`` (evidence §3): a row without the
    field is read in full before it is ruled out (see InvoiceListings).
    """
    return (listings or InvoiceListings(client)).find(lookup, markers)


def find_invoice_by_marker(client, contact_id, day, marker):
    """The invoice whose observations carry this attempt marker, or None."""
    if not contact_id or not marker:
        return None
    return find_invoices_by_markers(client, invoice_lookup(contact_id, day), {marker}).get(marker)


def void_invoice(client, invoice_id, payload):
    """POST /invoices/{id}/void (the SAT motive travels as mapping.void_payload says)."""
    return client.post(f"/invoices/{invoice_id}/void", payload)


def download(client, url):
    """Fetch a signed file URL Alegra handed out (no credentials are sent to it)."""
    return client.download(url)


# -- helpers ----------------------------------------------------------------------------------
def _scan(client, path, params):
    """Read up to LOOKUP_PAGES pages of a filtered list."""
    rows, start = [], 0
    for _ in range(LOOKUP_PAGES):
        page = unwrap_list(client.get(path, {**params, "start": start, "limit": PAGE_SIZE}))
        rows.extend(r for r in page if isinstance(r, dict))
        if len(page) < PAGE_SIZE:
            break
        start += PAGE_SIZE
    return rows


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
