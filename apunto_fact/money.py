"""Money helpers: Decimal only, never float."""
from decimal import ROUND_HALF_UP
from decimal import Decimal


def fmt(value, minimum_decimals=2):
    """Format an amount for people: $1,250.50 (more decimals only when it has them)."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    decimals = max(minimum_decimals, -value.normalize().as_tuple().exponent)
    return f"${value:,.{decimals}f}"


def sat_round(value, decimals=2):
    """Round half up to the currency's decimals, as the SAT's limits expect (§7.6)."""
    return Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
