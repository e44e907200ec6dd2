"""Invoice arithmetic with Decimal and the SAT's rounding (cfdi40-rules.md §7.5–§7.6).

Each concepto amount (importe, descuento, every tax) is rounded half up to the currency's
decimals, then summed: the sums are exact, so SubTotal, Total and the tax summaries pass
CFDI40108/40119/40221, and they equal what Alegra computes for the same lines.
"""
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

from ..money import sat_round

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Registered TasaOCuota values: the retention of two thirds of IVA is 0.106667, not 2/3.
RATE_OVERRIDES = {"10.6667": Decimal("0.106667")}


def rate(percent):
    """Turn a stored percentage ("16", "10.6667", "1.25") into the SAT TasaOCuota."""
    return RATE_OVERRIDES.get(percent) or (Decimal(percent) / HUNDRED).quantize(
        Decimal("0.000001"))


@dataclass
class LineAmounts:
    """What one concepto adds up to."""

    importe: Decimal
    discount: Decimal
    base: Decimal
    taxes: dict = field(default_factory=dict)       # label -> amount (traslados)
    retentions: dict = field(default_factory=dict)  # label -> amount
    retained: dict = field(default_factory=dict)    # "ret_isr" / "ret_iva" -> amount

    @property
    def total(self):
        """Base plus traslados minus retenciones."""
        return self.base + sum(self.taxes.values(), ZERO) - sum(self.retentions.values(), ZERO)


def line_amounts(line, decimals=2):
    """Compute a line (anything with quantity, unit_price, discount_pct and tax fields)."""
    importe = sat_round(Decimal(line.quantity) * Decimal(line.unit_price), decimals)
    discount = sat_round(importe * Decimal(line.discount_pct or 0) / HUNDRED, decimals)
    base = importe - discount
    amounts = LineAmounts(importe, discount, base)
    ieps = ZERO
    if line.ieps:
        ieps = sat_round(base * rate(line.ieps), decimals)
        amounts.taxes[f"IEPS {line.ieps} %"] = ieps
    if line.iva and line.iva != "exento":
        # IEPS is part of the value on which IVA is charged (LIVA art. 18).
        amounts.taxes[f"IVA {line.iva} %"] = sat_round((base + ieps) * rate(line.iva), decimals)
    elif line.iva == "exento":
        amounts.taxes["IVA exento"] = ZERO
    for kind, label in (("ret_isr", "Retención ISR"), ("ret_iva", "Retención IVA")):
        value = getattr(line, kind)
        if value:
            amount = sat_round(base * rate(value), decimals)
            amounts.retained[kind] = amount
            amounts.retentions[f"{label} {value} %"] = amount
    return amounts


@dataclass
class Totals:
    """The comprobante-level amounts."""

    subtotal: Decimal = ZERO
    discount: Decimal = ZERO
    taxes: dict = field(default_factory=dict)
    retentions: dict = field(default_factory=dict)
    lines: list = field(default_factory=list)

    @property
    def taxes_total(self):
        """TotalImpuestosTrasladados."""
        return sum(self.taxes.values(), ZERO)

    @property
    def retentions_total(self):
        """TotalImpuestosRetenidos."""
        return sum(self.retentions.values(), ZERO)

    @property
    def total(self):
        """SubTotal − Descuento + traslados − retenciones (CFDI40119)."""
        return self.subtotal - self.discount + self.taxes_total - self.retentions_total


def compute(lines, decimals=2):
    """Add up every line; lines that cannot be computed count as zero."""
    totals = Totals()
    for line in lines:
        try:
            amounts = line_amounts(line, decimals)
        except (ArithmeticError, TypeError, ValueError):
            amounts = None
        totals.lines.append(amounts)
        if amounts is None:
            continue
        totals.subtotal += amounts.importe
        totals.discount += amounts.discount
        for label, amount in amounts.taxes.items():
            totals.taxes[label] = totals.taxes.get(label, ZERO) + amount
        for label, amount in amounts.retentions.items():
            totals.retentions[label] = totals.retentions.get(label, ZERO) + amount
    return totals
