"""Every Alegra field name and value mapping lives here (alegra-api.md).

Several names are UNCERTAIN in the public sources; a check against a real account fixes
them in this one module. Parsers are liberal: ids and amounts may be strings or numbers.
"""
from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation


def to_id(value):
    """Return an Alegra id as an opaque string (ids changed from numbers to strings, §1.4)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def to_decimal(value, default=None):
    """Parse an Alegra amount given as a string or a number into Decimal."""
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default


@dataclass(frozen=True)
class CompanyInfo:
    """What we read from GET /company."""

    name: str
    rfc: str
    regime: str | None
    zip_code: str | None


def company_from_alegra(body):
    """Map the GET /company response (§1.1)."""
    body = body if isinstance(body, dict) else {}
    address = body.get("address") if isinstance(body.get("address"), dict) else {}
    identification = body.get("identification")
    if isinstance(identification, dict):
        identification = identification.get("number")
    return CompanyInfo(
        name=str(body.get("name") or "").strip(),
        rfc=str(identification or "").strip().upper(),
        regime=body.get("regime"),
        zip_code=address.get("zipCode"),
    )
