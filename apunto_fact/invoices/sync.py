"""Register customers and products in Alegra, and resolve account-specific ids.

Each record keeps its Alegra id and a fingerprint of what was sent: an unchanged customer
or product costs no call, so a repeat invoice is a single POST /invoices. Tax, retention
and numbering ids are cached in the database and refreshed on a miss (alegra-api.md §5).
"""
import logging
import secrets
import time

from sqlalchemy import or_
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..alegra import AlegraError
from ..alegra import api
from ..alegra import mapping
from ..audit.models import AlegraRef
from ..extensions import db
from ..sat.catalogs import GENERIC_RFCS

log = logging.getLogger(__name__)


class SetupMissing(Exception):
    """The Alegra account lacks something we need (a tax, an electronic numbering)."""


CREATED, LINKED = "created", "linked"


def _payload(build, *args):
    try:
        return build(*args)
    except mapping.Unsupported as exc:
        raise SetupMissing(str(exc)) from None


def ensure_contact(client, customer):
    """Return the customer's Alegra contact id, creating or updating it only if needed.

    Only a contact the app created, or one whose RFC matches exactly, is ever updated;
    a filter that answers with someone else's contact is ignored (evidence §3).
    """
    payload = _payload(mapping.contact_payload, customer, term_id(client, customer.credit_days))
    stamp = mapping.fingerprint(payload)
    if customer.alegra_id and customer.alegra_origin and customer.alegra_fingerprint == stamp:
        return customer.alegra_id
    if customer.alegra_id and not customer.alegra_origin:
        _verify_legacy(customer, lambda: mapping.contact_rfc(
            api.get_contact(client, customer.alegra_id)) == customer.rfc)
    contact_id, origin = customer.alegra_id, customer.alegra_origin
    if contact_id:
        api.update_contact(client, contact_id, payload)
    else:
        def create():
            # Many contacts share a generic RFC; ours is created as its own.
            found, how = api.find_or_create_contact(
                client, payload, customer.rfc, lookup=customer.rfc not in GENERIC_RFCS)
            if how == LINKED:
                # The same RFC already in Alegra: reuse it, with our fiscal data.
                api.update_contact(client, found, payload)
            return found, how

        contact_id, origin, won = _create_once(customer, create)
        if not won:
            return contact_id
    customer.alegra_id, customer.alegra_origin = contact_id, origin
    customer.alegra_fingerprint = stamp
    db.session.commit()
    return contact_id


def ensure_item(client, product):
    """Return the product's Alegra item id, creating or updating it only if needed.

    An item is linked only when its reference equals ours exactly; an item with another
    identity is never touched, even when Alegra's filter returns it.
    """
    payload = _payload(mapping.item_payload, product, tax_ids(client, product))
    stamp = mapping.fingerprint(payload)
    if product.alegra_id and product.alegra_origin and product.alegra_fingerprint == stamp:
        return product.alegra_id
    reference = payload["reference"]
    if product.alegra_id and not product.alegra_origin:
        _verify_legacy(product, lambda: mapping.item_reference(
            api.get_item(client, product.alegra_id)) == reference)
    item_id, origin = product.alegra_id, product.alegra_origin
    if item_id:
        api.update_item(client, item_id, payload)
    else:
        def create():
            rows = api.find_items(client, reference)
            if not rows:
                return api.create_item(client, payload), CREATED
            found = mapping.to_id(rows[0].get("id"))
            api.update_item(client, found, payload)
            return found, LINKED

        item_id, origin, won = _create_once(product, create)
        if not won:
            return item_id
    product.alegra_id, product.alegra_origin, product.alegra_fingerprint = item_id, origin, stamp
    db.session.commit()
    return item_id


# A record being registered in Alegra carries this claim in alegra_fingerprint (never a real
# fingerprint) so that concurrent stamps needing it create ONE contact/item (ATTACK F17).
CLAIM = "syncing:"
# Longer than a claimant can take (lookup + POST with timeouts and rate waits); after it the
# claim is taken as abandoned (its process died) and another may register the record.
CLAIM_SECONDS = 150
CLAIM_POLL = 0.1


class RegistrationBusy(AlegraError):
    """Another stamp is registering this record in Alegra and has not finished in time."""


def _create_once(record, create):
    """Run create() -> (id, origin) for a record without an Alegra id, once at a time.

    The winner of a conditional UPDATE on the record's row registers it in Alegra; the others
    wait for its id instead of looking up and POSTing their own copy. Returns (id, origin,
    won): a loser gets the winner's id and won=False.
    """
    model = type(record)
    deadline = time.monotonic() + CLAIM_SECONDS
    while True:
        now = int(time.time())
        token = f"{CLAIM}{now:011d}:{secrets.token_hex(4)}"
        abandoned = f"{CLAIM}{now - CLAIM_SECONDS:011d}"
        claimed = db.session.execute(
            update(model).where(model.id == record.id, model.alegra_id.is_(None),
                                or_(model.alegra_fingerprint.is_(None),
                                    ~model.alegra_fingerprint.startswith(CLAIM),
                                    model.alegra_fingerprint < abandoned))
            .values(alegra_fingerprint=token, updated_at=model.updated_at)
            .execution_options(synchronize_session=False))
        db.session.commit()
        if claimed.rowcount == 1:
            break
        db.session.refresh(record)
        if record.alegra_id:
            return record.alegra_id, record.alegra_origin, False
        if time.monotonic() > deadline:
            raise RegistrationBusy(
                "Otra ventana está registrando este cliente o producto en Alegra y aún no "
                "termina; no se envió la factura. Intenta de nuevo en unos momentos.",
                kind="busy_record")
        time.sleep(CLAIM_POLL)
    try:
        found, origin = create()
    except BaseException:
        db.session.rollback()
        db.session.execute(update(model).where(model.id == record.id,
                                               model.alegra_fingerprint == token)
                           .values(alegra_fingerprint=None, updated_at=model.updated_at)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        raise
    return found, origin, True


def _verify_legacy(record, matches):
    """An id stored before origins were kept: keep it only if it still matches exactly."""
    try:
        same = matches()
    except AlegraError as err:
        if err.status != 404:
            raise
        same = False
    if same:
        record.alegra_origin = LINKED
    else:
        record.alegra_id = record.alegra_origin = record.alegra_fingerprint = None


def discard_rejected_leftover(client, invoice, attempt):
    """Void the invoice a SAT-rejected stamp may have left in Alegra (evidence §3).

    Found only by this attempt's own marker, so it is the app's record; voided so that
    stamping again does not leave two open documents in the user's account. Returns its id.
    """
    try:
        lookup = attempt.lookup_params or api.invoice_lookup(invoice.customer.alegra_id,
                                                             invoice.date)
        info = api.find_invoices_by_markers(client, lookup, {attempt.marker}).get(
            attempt.marker)
    except AlegraError as err:
        log.warning("Could not look for the rejected leftover of invoice %s: %s", invoice.id,
                    err)
        return None
    return void_leftover(client, info)


def void_leftover(client, info):
    """Void an unstamped invoice of ours (rejected or pending); return its id or None."""
    if info is None or info.state not in (mapping.S_REJECTED, mapping.S_PENDING) or \
            info.uuid or info.status == "void":
        return None
    try:
        api.void_invoice(client, info.id, {})
    except AlegraError as err:
        log.warning("Could not void the leftover invoice %s in Alegra: %s", info.id, err)
        return None
    return info.id


def term_id(client, days):
    """Alegra id of the /terms row with these days, or None (terms are optional)."""
    key = str(int(days or 0))
    if db.session.get(AlegraRef, ("terms", "loaded")) is None:
        try:
            _refresh(client, "terms")
        except AlegraError as err:
            if err.status not in (403, 404):
                raise
            db.session.add(AlegraRef(kind="terms", key="loaded", alegra_id="1"))
            db.session.commit()
    cached = db.session.get(AlegraRef, ("terms", key))
    return cached.alegra_id if cached else None


def tax_ids(client, record):
    """Alegra ids of a product's or line's traslados (IEPS, then IVA)."""
    wanted = [("ieps", record.ieps), ("iva", record.iva)]
    return [_ref(client, "taxes", mapping.our_tax_key(kind, value))
            for kind, value in wanted if value]


def retention_id(client, kind, value):
    """Alegra id of a retention by type and rate (accounts may hold duplicates, §5)."""
    return _ref(client, "retentions", mapping.our_tax_key(kind, value))


def template_id(client):
    """Alegra id of the default electronic numbering for invoices (§8)."""
    return _ref(client, "number-templates", ("invoice", "electronic"))


def _template_key(body):
    if body.get("documentType") == "invoice" and body.get("isElectronic") and \
            body.get("status", "active") == "active":
        return "invoice", "electronic" if body.get("isDefault") else "electronic-other"
    return None


def _term_key(body):
    days = mapping.to_decimal(body.get("days"))
    return None if days is None else (str(int(days)),)


_KEYS = {"number-templates": _template_key, "terms": _term_key}


def _ref(client, kind, key):
    key_text = ":".join(key)
    cached = db.session.get(AlegraRef, (kind, key_text))
    if cached:
        return cached.alegra_id
    _refresh(client, kind)
    cached = db.session.get(AlegraRef, (kind, key_text))
    if cached is None and kind == "number-templates":
        cached = db.session.get(AlegraRef, (kind, "invoice:electronic-other"))
    if cached is None:
        raise SetupMissing(_missing_message(kind, key))
    return cached.alegra_id


def _refresh(client, kind):
    """Reload one list from Alegra into the cache; the first id wins on duplicates."""
    rows = api.list_catalog(client, kind)  # before any write: no lock held during the call
    db.session.query(AlegraRef).filter_by(kind=kind).delete()
    seen = set()
    if kind == "terms":
        db.session.add(AlegraRef(kind=kind, key="loaded", alegra_id="1"))
    for row in rows:
        key = _KEYS.get(kind, mapping.tax_key)(row)
        if key is None or ":".join(key) in seen or row.get("status", "active") != "active":
            continue
        seen.add(":".join(key))
        db.session.add(AlegraRef(kind=kind, key=":".join(key),
                                 alegra_id=mapping.to_id(row.get("id"))))
    try:
        db.session.commit()
    except IntegrityError:
        # Another stamp refreshed the same list at the same moment (PostgreSQL lets both
        # try): its rows came from the same Alegra list, so they are kept and read.
        db.session.rollback()


def _missing_message(kind, key):
    if kind == "number-templates":
        return ("Tu cuenta de Alegra no tiene una numeración electrónica de facturas activa. "
                "Créala en Alegra → Configuración → Numeraciones.")
    what = "el impuesto" if kind == "taxes" else "la retención"
    return (f"Tu cuenta de Alegra no tiene {what} {key[0]} {key[1]} %. Agrégalo en Alegra → "
            f"Configuración → Impuestos y vuelve a timbrar.")
