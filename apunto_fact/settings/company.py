"""The company's fiscal data (the emisor)."""
from .. import crypto
from ..alegra import AlegraError
from ..alegra import api
from ..alegra.mapping import REGIME_CODES
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


def alegra_company():
    """Read the account's company from Alegra (GET /company) as a CompanyInfo."""
    return api.get_company(alegra.make_client(get_retries=0))


def suggestion_from_alegra():
    """Return form data taken from Alegra's company, or None when it cannot be read."""
    try:
        info = alegra_company()
    except (alegra.NotConfigured, crypto.KeyProblem, AlegraError):
        return None
    return {"rfc": info.rfc or None, "name": info.name or None,
            "regimen": REGIME_CODES.get(info.regime) or info.regime, "cp": info.zip_code}


def _same_name(a, b):
    return " ".join(fold(a or "").upper().split()) == " ".join(fold(b or "").upper().split())


def compare_with_alegra():
    """Return a dict describing how our data and Alegra's GET /company differ.

    Keys: ``state`` (``same``, ``different``, ``unavailable``, ``no_company``), ``alegra``
    (CompanyInfo or None), ``differences`` (list of Spanish sentences) and ``message``.
    """
    ours = get()
    try:
        info = alegra_company()
    except (alegra.NotConfigured, crypto.KeyProblem, AlegraError) as exc:
        state = "no_company" if ours is None else "unavailable"
        return {"state": state, "differences": [], "alegra": None,
                "message": getattr(exc, "message", str(exc))}
    if ours is None:
        # Nothing captured yet: offer Alegra's data as a starting point (the user confirms).
        return {"state": "prefill" if info.rfc or info.name else "no_company",
                "differences": [], "alegra": info, "message": None}
    differences = []
    if info.rfc != ours.rfc:
        differences.append(f"RFC: en Alegra «{info.rfc}», aquí «{ours.rfc}».")
    if not _same_name(info.name, ours.name):
        differences.append(f"Razón social: en Alegra «{info.name}», aquí «{ours.name}».")
    return {"state": "different" if differences else "same", "differences": differences,
            "alegra": info, "message": None}
