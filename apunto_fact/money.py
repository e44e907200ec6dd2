"""Money helpers: Decimal only, never float."""
from decimal import Decimal


def fmt(value, minimum_decimals=2):
    """Format an amount for people: $1,250.50 (more decimals only when it has them)."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    decimals = max(minimum_decimals, -value.normalize().as_tuple().exponent)
    return f"${value:,.{decimals}f}"
