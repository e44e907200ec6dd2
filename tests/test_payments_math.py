"""Pagos 2.0 arithmetic reproduces pagos20.md's worked examples (§3) to the cent."""
from decimal import Decimal as D

import pytest

from apunto_fact.payments import amounts as pay

IVA16 = pay.TaxGroup("002", "Tasa", D("0.160000"), D("1000.00"), D("160.00"))


def _a101(paid_before=D(0), payments_before=0):
    return pay.Document(uuid="UUID-A101", serie="A", folio="101", currency="MXN",
                        total=D("1160.00"), traslados=(IVA16,), paid_before=paid_before,
                        payments_before=payments_before)


def _pago_totales(monto, related):
    traslados, retenciones = pay.pago_taxes(related)
    return traslados, retenciones, pay.totales([(monto, D(1), traslados, retenciones)])


def test_example_3_1_first_partial_payment():
    rel = pay.apply(_a101(), D("600.00"))
    assert (rel.num_parcialidad, rel.saldo_anterior, rel.pagado, rel.saldo_insoluto,
            rel.equivalencia) == (1, D("1160.00"), D("600.00"), D("560.00"), 1)
    [row] = rel.traslados
    assert (row.base, row.amount) == (D("517.24"), D("82.76"))
    assert pay.importe_limits(row.base, row.rate, 2, 2) == (D("82.75"), D("82.76"))
    traslados, retenciones, totales = _pago_totales(D("600.00"), [rel])
    assert [(t.base, t.amount) for t in traslados] == [(D("517.24"), D("82.76"))]
    assert retenciones == []
    assert totales == {"MontoTotalPagos": D("600.00"), "TotalTrasladosBaseIVA16": D("517.24"),
                       "TotalTrasladosImpuestoIVA16": D("82.76")}


def test_example_3_1_second_payment_ends_at_zero_and_sums_exactly():
    rel = pay.apply(_a101(D("600.00"), 1), D("560.00"))
    assert (rel.num_parcialidad, rel.saldo_anterior, rel.pagado, rel.saldo_insoluto) == (
        2, D("560.00"), D("560.00"), D("0.00"))
    [row] = rel.traslados
    assert (row.base, row.amount) == (D("482.76"), D("77.24"))
    assert pay.importe_limits(row.base, row.rate, 2, 2) == (D("77.24"), D("77.25"))
    _, _, totales = _pago_totales(D("560.00"), [rel])
    assert totales == {"MontoTotalPagos": D("560.00"), "TotalTrasladosBaseIVA16": D("482.76"),
                       "TotalTrasladosImpuestoIVA16": D("77.24")}


def test_example_3_2_retentions_paid_in_full():
    doc = pay.Document(
        uuid="U", serie="B", folio="7", currency="MXN", total=D("953.33"),
        traslados=(IVA16,),
        retenciones=(pay.TaxGroup("001", "Tasa", D("0.100000"), D("1000.00"), D("100.00")),
                     pay.TaxGroup("002", "Tasa", D("0.106667"), D("1000.00"), D("106.67"))))
    rel = pay.apply(doc, D("953.33"))
    assert (rel.num_parcialidad, rel.saldo_anterior, rel.pagado, rel.saldo_insoluto) == (
        1, D("953.33"), D("953.33"), D("0.00"))
    assert [(r.impuesto, r.base, r.rate, r.amount) for r in rel.retenciones] == [
        ("001", D("1000.00"), D("0.100000"), D("100.00")),
        ("002", D("1000.00"), D("0.106667"), D("106.67"))]
    assert pay.importe_limits(D("1000.00"), D("0.106667"), 2, 2) == (D("106.66"), D("106.67"))
    traslados, retenciones, totales = _pago_totales(D("953.33"), [rel])
    assert [(t.impuesto, t.amount) for t in retenciones] == [("001", D("100.00")),
                                                             ("002", D("106.67"))]
    assert [(t.base, t.amount) for t in traslados] == [(D("1000.00"), D("160.00"))]
    assert totales == {"MontoTotalPagos": D("953.33"), "TotalRetencionesIVA": D("106.67"),
                       "TotalRetencionesISR": D("100.00"),
                       "TotalTrasladosBaseIVA16": D("1000.00"),
                       "TotalTrasladosImpuestoIVA16": D("160.00")}


@pytest.mark.parametrize("parts", [
    ["0.01", "1159.99"], ["333.33", "333.33", "493.34"], ["1", "1", "1", "1157"],
    ["579.99", "580.01"]])
def test_any_split_adds_up_to_the_invoice_taxes_within_the_sat_band(parts):
    paid, count, bases, amounts = D(0), 0, D(0), D(0)
    for part in map(D, parts):
        rel = pay.apply(_a101(paid, count), part)
        [row] = rel.traslados
        lower, upper = pay.importe_limits(row.base, row.rate, 2, 2)
        assert lower <= row.amount <= upper
        assert rel.saldo_insoluto == rel.saldo_anterior - rel.pagado
        paid, count = paid + part, count + 1
        bases, amounts = bases + row.base, amounts + row.amount
    assert rel.saldo_insoluto == 0 and rel.num_parcialidad == len(parts)
    assert (bases, amounts) == (D("1000.00"), D("160.00"))


def test_one_payment_over_three_invoices_groups_taxes_per_rate():
    docs = [pay.Document(uuid=f"U{i}", serie="A", folio=str(i), currency="MXN",
                         total=D("1160.00"), traslados=(IVA16,)) for i in range(3)]
    related = [pay.apply(doc, D("1160.00")) for doc in docs]
    traslados, _, totales = _pago_totales(D("3480.00"), related)
    assert [(t.base, t.amount) for t in traslados] == [(D("3000.00"), D("480.00"))]
    assert totales["MontoTotalPagos"] == D("3480.00")
    assert pay.monto_covers(D("3480.00"), related) is True
    assert pay.monto_covers(D("3479.99"), related) is False


def test_guide_usd_invoice_paid_in_mxn_needs_ten_decimals():
    # PAGOS pp.71–72 via pagos20.md §2.5.5: 0.056391 fails, 0.0563917194 passes.
    pagado = D("348000.00")  # USD
    short = pay.covered_range(pagado, D("0.056391"))
    assert not short[0] <= D("6171118.80") <= short[1]
    assert pay.covered_range(pagado, D("0.0563917194")) == (D("6171118.71"), D("6171118.90"))


def test_equivalence_is_one_in_the_same_currency_and_ten_decimals_otherwise():
    assert pay.equivalence("MXN", 1, "MXN", 1) == 1
    # The guide's case: USD 348,000.00 paid with MXN 6,171,118.80 (rate 17.7331).
    assert pay.equivalence("MXN", D(1), "USD", D("17.7331")) == D("0.0563917194")


# -- the SAT's refusals, as rules (sat/rules.py) ------------------------------------------
from datetime import date  # noqa: E402
from datetime import datetime  # noqa: E402

from apunto_fact.sat import rules  # noqa: E402

NOW = datetime(2026, 4, 15, 12, 0)


def _app(**overrides):
    values = {"field": "apply-0", "label": "A101", "metodo_pago": "PPD", "cancelled": False,
              "stamped": True, "issued": date(2026, 3, 1), "balance": D("1160.00"),
              "amount": D("600.00")}
    return rules.PaymentApplication(**{**values, **overrides})


def _check(apps=None, **data):
    values = {"paid_at": datetime(2026, 4, 10, 12, 0), "forma_pago": "03", "currency": "MXN",
              "exchange_rate": None, "amount": D("600.00")}
    return rules.check_rep_payment({**values, **data}, apps or [_app()], NOW).errors


def test_a_correct_payment_passes():
    assert _check() == {}


@pytest.mark.parametrize("data, apps, field, text", [
    ({"forma_pago": "99"}, None, "forma_pago", "CRP20212"),
    ({"currency": "USD"}, None, "exchange_rate", "CRP20214"),
    ({"amount": D(0)}, None, "amount", "CRP20218"),
    ({"paid_at": datetime(2026, 4, 16, 9, 0)}, None, "paid_at", "no puede ser futura"),
    ({"paid_at": datetime(2026, 2, 27, 9, 0)}, None, "paid_at", "anterior a la factura A101"),
    ({"amount": D("1200.00")}, [_app(amount=D("1200.00"))], "apply-0", "CRP20244"),
    ({}, [_app(metodo_pago="PUE")], "apply-0", "es PUE"),
    ({}, [_app(cancelled=True)], "apply-0", "está cancelada"),
    ({"amount": D("500.00")}, None, "amount", "CRP20217"),
    ({}, [_app(currency="USD")], "apply-0", "CRP20237"),
])
def test_each_refusal_lands_on_its_field(data, apps, field, text):
    errors = _check(apps, **data)
    assert text in errors[field]


@pytest.mark.parametrize("forma, ordenante, beneficiario, field, code", [
    ("03", "12345", None, "cta_ordenante", "CRP20223"),
    ("03", None, "1234567890123", "cta_beneficiario", "CRP20227"),
    ("01", "1234567890", None, "cta_ordenante", "no admite"),
    ("06", None, "1234567890", "cta_beneficiario", "no admite"),
])
def test_bank_accounts_follow_the_forma(forma, ordenante, beneficiario, field, code):
    errors = _check(forma_pago=forma, cta_ordenante=ordenante, cta_beneficiario=beneficiario)
    assert code in errors[field]


def test_valid_clabe_accounts_pass():
    assert _check(cta_ordenante="012345678901234567", cta_beneficiario="123456789012345678") == {}
