"""Pagos 2.0 arithmetic as plain functions: Decimal only, the SAT's rounding (pagos20.md §2–§3).

Per related document: NumParcialidad, ImpSaldoAnt, ImpPagado, ImpSaldoInsoluto,
EquivalenciaDR and the taxes in proportion to what is paid; per Pago: ImpuestosP; per REP:
Totales. Taxes are proportional on a cumulative basis (satcfdi's way, pagos20.md §2.5.1):
payment n carries round(Base × paid so far / Total) minus the same for n−1, so the
parcialidades of an invoice add up exactly to its taxes, with no drift.
"""
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from dataclasses import field
from decimal import ROUND_CEILING
from decimal import ROUND_DOWN
from decimal import Decimal

from ..money import sat_round

CFDI = "{http://www.sat.gob.mx/cfd/4}"
ZERO = Decimal(0)
ONE = Decimal(1)
DR_TAX_DECIMALS = 6     # BaseDR, ImporteDR, BaseP, ImporteP: at most 6 (§2.5.7)
EQUIVALENCE_DECIMALS = 10  # write EquivalenciaDR with 10 decimals (§2.5.5)
IVA, ISR, IEPS = "002", "001", "003"


@dataclass(frozen=True)
class TaxGroup:
    """One tax of an invoice summed by (impuesto, factor, tasa): the CFDI's own amounts."""

    impuesto: str
    factor: str              # Tasa | Cuota | Exento
    rate: Decimal | None     # TasaOCuota (None when Exento)
    base: Decimal
    amount: Decimal | None   # None when Exento


@dataclass(frozen=True)
class Document:
    """What a REP needs of a PPD invoice and of the payments already applied to it."""

    uuid: str
    serie: str
    folio: str
    currency: str
    total: Decimal
    objeto_imp: str = "02"
    traslados: tuple = ()
    retenciones: tuple = ()
    paid_before: Decimal = ZERO   # Σ ImpPagado of earlier payments in force
    payments_before: int = 0      # how many earlier payments in force
    decimals: int = 2             # MonedaDR's decimals (c_Moneda)


@dataclass(frozen=True)
class TaxDR:
    """A TrasladoDR or RetencionDR row."""

    impuesto: str
    factor: str
    rate: Decimal | None
    base: Decimal
    amount: Decimal | None


@dataclass
class Related:
    """One DoctoRelacionado, computed."""

    document: Document
    num_parcialidad: int
    saldo_anterior: Decimal
    pagado: Decimal
    saldo_insoluto: Decimal
    equivalencia: Decimal
    traslados: list = field(default_factory=list)
    retenciones: list = field(default_factory=list)

    @property
    def objeto_imp(self):
        """ObjetoImpDR: the invoice's."""
        return self.document.objeto_imp


def _quantum(decimals):
    return Decimal(1).scaleb(-decimals)


def _share(amount, numerator, total, decimals):
    return sat_round(amount * numerator / total, decimals)


def importe_limits(base, rate, base_decimals, amount_decimals):
    """ImporteDR's allowed range for a BaseDR written with base_decimals (§2.5.2)."""
    half = _quantum(base_decimals) / 2
    lower = ((base - half) * rate).quantize(_quantum(amount_decimals), rounding=ROUND_DOWN)
    upper = ((base + half - Decimal("1e-12")) * rate).quantize(
        _quantum(amount_decimals), rounding=ROUND_CEILING)
    return lower, upper


def _proportional(group, document, before, after, decimals):
    base = _share(group.base, after, document.total, decimals) - \
        _share(group.base, before, document.total, decimals)
    if group.factor == "Exento":
        return TaxDR(group.impuesto, group.factor, None, base, None)
    amount = _share(group.amount, after, document.total, decimals) - \
        _share(group.amount, before, document.total, decimals)
    lower, upper = importe_limits(base, group.rate, decimals, decimals)
    if not lower <= amount <= upper:
        # Cumulative rounding left it outside the SAT's band (CRP20254/20261): use the band.
        amount = sat_round(base * group.rate, decimals)
    return TaxDR(group.impuesto, group.factor, group.rate, base, amount)


def apply(document, pagado, equivalencia=ONE):
    """Compute a DoctoRelacionado for a payment of `pagado` (in the invoice's currency)."""
    decimals = document.decimals
    pagado = sat_round(pagado, decimals)
    before = document.paid_before
    after = before + pagado
    related = Related(document=document, num_parcialidad=document.payments_before + 1,
                      saldo_anterior=sat_round(document.total - before, decimals),
                      pagado=pagado, saldo_insoluto=sat_round(document.total - after, decimals),
                      equivalencia=equivalencia)
    if document.objeto_imp == "02" and document.total > 0:
        related.traslados = [_proportional(g, document, before, after, decimals)
                             for g in document.traslados]
        related.retenciones = [_proportional(g, document, before, after, decimals)
                               for g in document.retenciones]
    return related


def equivalence(moneda_p, tipo_cambio_p, moneda_dr, tipo_cambio_dr):
    """EquivalenciaDR: units of the invoice's currency per one unit of the payment's (§2.3).

    Each exchange rate is in MXN per unit (1 for MXN). Written with 10 decimals (§2.5.5).
    """
    if moneda_p == moneda_dr:
        return ONE
    value = Decimal(tipo_cambio_p) / Decimal(tipo_cambio_dr)
    return value.quantize(_quantum(EQUIVALENCE_DECIMALS))


@dataclass
class TaxP:
    """A TrasladoP or RetencionP row (in the payment's currency)."""

    impuesto: str
    factor: str | None
    rate: Decimal | None
    base: Decimal | None
    amount: Decimal | None


def _in_p(value, equivalencia):
    return value / equivalencia


def pago_taxes(related):
    """ImpuestosP from the DoctoRelacionado rows as written ÷ EquivalenciaDR (§2.4, §2.5.6)."""
    traslados, retenciones = {}, {}
    for doc in related:
        for row in doc.traslados:
            key = (row.impuesto, row.factor, row.rate)
            base, amount = traslados.get(key, (ZERO, ZERO))
            traslados[key] = (base + _in_p(row.base, doc.equivalencia),
                              amount + _in_p(row.amount or ZERO, doc.equivalencia))
        for row in doc.retenciones:
            retenciones[row.impuesto] = retenciones.get(row.impuesto, ZERO) + \
                _in_p(row.amount, doc.equivalencia)
    q = DR_TAX_DECIMALS
    return (
        [TaxP(imp, factor, rate, sat_round(base, q),
              None if factor == "Exento" else sat_round(amount, q))
         for (imp, factor, rate), (base, amount) in traslados.items()],
        [TaxP(imp, None, None, None, sat_round(amount, q))
         for imp, amount in sorted(retenciones.items())],
    )


IVA_TOTALS = {Decimal("0.160000"): "IVA16", Decimal("0.080000"): "IVA8",
              Decimal("0.000000"): "IVA0"}
RETENTION_TOTALS = {IVA: "TotalRetencionesIVA", ISR: "TotalRetencionesISR",
                    IEPS: "TotalRetencionesIEPS"}


def totales(pagos):
    """The REP's Totales (MXN, 2 decimals) from [(monto, tipo_cambio_p, traslados_p,
    retenciones_p)] (§2.4)."""
    sums = {}

    def add(key, value):
        sums[key] = sums.get(key, ZERO) + value

    for monto, rate, traslados, retenciones in pagos:
        rate = Decimal(rate)
        add("MontoTotalPagos", monto * rate)
        for row in retenciones:
            add(RETENTION_TOTALS[row.impuesto], row.amount * rate)
        for row in traslados:
            if row.impuesto != IVA:
                continue  # no Totales field exists for IEPS traslados
            if row.factor == "Exento":
                add("TotalTrasladosBaseIVAExento", row.base * rate)
                continue
            suffix = IVA_TOTALS.get(Decimal(row.rate).quantize(Decimal("0.000001")))
            if suffix:
                add(f"TotalTrasladosBase{suffix}", row.base * rate)
                add(f"TotalTrasladosImpuesto{suffix}", row.amount * rate)
    return {key: sat_round(value, 2) for key, value in sums.items()}


def covered_range(pagado, equivalencia, pagado_decimals=2, monto_decimals=2):
    """The Monto range one document's ImpPagado stands for in another currency (§2.5.4)."""
    if equivalencia == ONE:
        return pagado, pagado
    n_e = max(0, -equivalencia.normalize().as_tuple().exponent)
    half_i, half_e = _quantum(pagado_decimals) / 2, _quantum(n_e) / 2
    lower = ((pagado - half_i) / (equivalencia + half_e - Decimal("1e-16"))).quantize(
        _quantum(monto_decimals), rounding=ROUND_DOWN)
    upper = ((pagado + half_i - Decimal("1e-16")) / (equivalencia - half_e)).quantize(
        _quantum(monto_decimals), rounding=ROUND_CEILING)
    return lower, upper


def monto_covers(monto, related, monto_decimals=2):
    """True when Monto can pay these documents (CRP20217 same currency, 20275–20276 else)."""
    if all(r.equivalencia == ONE for r in related):
        return sum((r.pagado for r in related), ZERO) <= monto
    ranges = [covered_range(r.pagado, r.equivalencia, r.document.decimals, monto_decimals)
              for r in related]
    needed = sum((r.pagado / r.equivalencia for r in related), ZERO).quantize(
        _quantum(monto_decimals), rounding=ROUND_DOWN)
    if needed <= monto:
        return True
    return sum(lo for lo, _ in ranges) <= monto <= sum(hi for _, hi in ranges)


def invoice_taxes(xml_content):
    """(traslados, retenciones, objeto_imp) of an invoice, read from its stamped CFDI."""
    root = ET.fromstring(xml_content)
    groups = {"Traslado": {}, "Retencion": {}}
    objetos = set()
    for concepto in root.iterfind(f"{CFDI}Conceptos/{CFDI}Concepto"):
        objetos.add(concepto.get("ObjetoImp"))
        for kind, parent in (("Traslado", "Traslados"), ("Retencion", "Retenciones")):
            for node in concepto.iterfind(f"{CFDI}Impuestos/{CFDI}{parent}/{CFDI}{kind}"):
                factor = node.get("TipoFactor")
                rate = Decimal(node.get("TasaOCuota")) if node.get("TasaOCuota") else None
                key = (node.get("Impuesto"), factor, rate)
                base, amount = groups[kind].get(key, (ZERO, ZERO))
                groups[kind][key] = (base + Decimal(node.get("Base")),
                                     amount + Decimal(node.get("Importe") or 0))
    objeto = "02" if "02" in objetos else (sorted(objetos)[0] if objetos else "01")

    def as_groups(kind):
        return tuple(TaxGroup(imp, factor, rate, base, None if factor == "Exento" else amount)
                     for (imp, factor, rate), (base, amount) in groups[kind].items())

    return as_groups("Traslado"), as_groups("Retencion"), objeto
