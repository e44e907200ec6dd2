"""Everything that speaks to Alegra: the HTTP client and the field mapping."""
from .client import AlegraClient
from .client import AlegraError

__all__ = ["AlegraClient", "AlegraError"]
