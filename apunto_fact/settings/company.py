"""The company's fiscal data (the emisor)."""
from .. import crypto
from ..alegra import AlegraError
from ..alegra import api
from ..extensions import db
from ..sat.search import fold
from . import alegra
from .models import Company

FIELDS = ("rfc", "name", "regimen", "cp", "street", "exterior", "interior", "colonia",
          "municipio", "estado")


def get():
    """Return the company row, or None before it is filled in."""
    return db.session.get(Company, 1)


def postal_code():
    """Return the LugarExpedicion (company CP), or None."""
    company = get()
    return company.cp if company else None


def save(data):
    """Store validated fiscal data."""
    company = get() or Company(id=1)
    for name in FIELDS:
        setattr(company, name, data.get(name) or None)
    db.session.add(company)
    db.session.commit()
    return company


def _same_name(a, b):
    return " ".join(fold(a or "").upper().split()) == " ".join(fold(b or "").upper().split())


def compare_with_alegra():
    """Return a dict describing how our data and Alegra's GET /company differ.

    Keys: ``state`` (``same``, ``different``, ``unavailable``, ``no_company``), ``alegra``
    (CompanyInfo or None), ``differences`` (list of Spanish sentences) and ``message``.
    """
    ours = get()
    if ours is None:
        return {"state": "no_company", "differences": [], "alegra": None, "message": None}
    try:
        info = api.get_company(alegra.make_client(get_retries=0))
    except (alegra.NotConfigured, crypto.KeyProblem, AlegraError) as exc:
        return {"state": "unavailable", "differences": [], "alegra": None,
                "message": getattr(exc, "message", str(exc))}
    differences = []
    if info.rfc != ours.rfc:
        differences.append(f"RFC: en Alegra «{info.rfc}», aquí «{ours.rfc}».")
    if not _same_name(info.name, ours.name):
        differences.append(f"Razón social: en Alegra «{info.name}», aquí «{ours.name}».")
    return {"state": "different" if differences else "same", "differences": differences,
            "alegra": info, "message": None}
