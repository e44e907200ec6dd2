"""Register customers and products in Alegra, and resolve account-specific ids.

Each record keeps its Alegra id and a fingerprint of what was sent: an unchanged customer
or product costs no call, so a repeat invoice is a single POST /invoices. Tax, retention
and numbering ids are cached in the database and refreshed on a miss (alegra-api.md §5).
"""
from ..alegra import api
from ..alegra import mapping
from ..audit.models import AlegraRef
from ..extensions import db
from ..sat.catalogs import GENERIC_RFCS


class SetupMissing(Exception):
    """The Alegra account lacks something we need (a tax, an electronic numbering)."""


def ensure_contact(client, customer):
    """Return the customer's Alegra contact id, creating or updating it only if needed."""
    payload = mapping.contact_payload(customer)
    stamp = mapping.fingerprint(payload)
    if customer.alegra_id and customer.alegra_fingerprint == stamp:
        return customer.alegra_id
    contact_id = customer.alegra_id
    if contact_id:
        api.update_contact(client, contact_id, payload)
    else:
        # Many contacts share a generic RFC; ours is created as its own.
        contact_id, origin = api.find_or_create_contact(
            client, payload, customer.rfc, lookup=customer.rfc not in GENERIC_RFCS)
        if origin == "linked":
            # The same RFC already in Alegra: reuse it, with our fiscal data.
            api.update_contact(client, contact_id, payload)
    customer.alegra_id, customer.alegra_fingerprint = contact_id, stamp
    db.session.commit()
    return contact_id


def ensure_item(client, product):
    """Return the product's Alegra item id, creating or updating it only if needed."""
    payload = mapping.item_payload(product, tax_ids(client, product))
    stamp = mapping.fingerprint(payload)
    if product.alegra_id and product.alegra_fingerprint == stamp:
        return product.alegra_id
    item_id = product.alegra_id
    if item_id is None:
        rows = api.find_items(client, payload["reference"])
        item_id = mapping.to_id(rows[0].get("id")) if rows else None
    if item_id:
        api.update_item(client, item_id, payload)
    else:
        item_id = api.create_item(client, payload)
    product.alegra_id, product.alegra_fingerprint = item_id, stamp
    db.session.commit()
    return item_id


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
    for row in rows:
        key = _template_key(row) if kind == "number-templates" else mapping.tax_key(row)
        if key is None or ":".join(key) in seen or row.get("status", "active") != "active":
            continue
        seen.add(":".join(key))
        db.session.add(AlegraRef(kind=kind, key=":".join(key),
                                 alegra_id=mapping.to_id(row.get("id"))))
    db.session.commit()


def _missing_message(kind, key):
    if kind == "number-templates":
        return ("Tu cuenta de Alegra no tiene una numeración electrónica de facturas activa. "
                "Créala en Alegra → Configuración → Numeraciones.")
    what = "el impuesto" if kind == "taxes" else "la retención"
    return (f"Tu cuenta de Alegra no tiene {what} {key[0]} {key[1]} %. Agrégalo en Alegra → "
            f"Configuración → Impuestos y vuelve a timbrar.")
