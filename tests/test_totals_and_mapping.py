"""Direct tests of invoice arithmetic (SAT rounding), the Alegra mapping and the hints."""
from decimal import Decimal
from types import SimpleNamespace

import pytest

from apunto_fact.alegra import AlegraError
from apunto_fact.alegra import mapping
from apunto_fact.invoices import hints
from apunto_fact.invoices.forms import LineForm
from apunto_fact.invoices.models import LINE_INPUTS
from apunto_fact.invoices.totals import compute
from apunto_fact.invoices.totals import line_amounts
from apunto_fact.invoices.totals import rate

D = Decimal


def line(quantity="1", price="100", discount="0", iva="16", ieps=None, ret_isr=None,
         ret_iva=None):
    return SimpleNamespace(quantity=D(quantity), unit_price=D(price), discount_pct=D(discount),
                           iva=iva, ieps=ieps, ret_isr=ret_isr, ret_iva=ret_iva)


def test_ieps_is_part_of_the_iva_base():
    amounts = line_amounts(line(price="100", ieps="8"))
    assert (amounts.taxes, amounts.total) == (
        {"IEPS 8 %": D("8.00"), "IVA 16 %": D("17.28")}, D("125.28"))


def test_two_thirds_iva_retention_uses_the_registered_rate():
    assert rate("10.6667") == D("0.106667")
    amounts = line_amounts(line(price="1000", ret_iva="10.6667"))
    assert (amounts.retentions, amounts.total) == (
        {"Retención IVA 10.6667 %": D("106.67")}, D("1053.33"))


def test_resico_isr_retention_of_1_25_percent():
    amounts = line_amounts(line(price="1000", ret_isr="1.25"))
    assert (amounts.retained, amounts.total) == ({"ret_isr": D("12.50")}, D("1147.50"))


def test_exempt_iva_is_listed_with_zero_and_adds_nothing():
    amounts = line_amounts(line(iva="exento"))
    assert (amounts.taxes, amounts.total) == ({"IVA exento": D(0)}, D("100"))


def test_zero_rate_iva_is_a_tax_of_zero():
    amounts = line_amounts(line(iva="0"))
    assert (amounts.taxes, amounts.total) == ({"IVA 0 %": D("0.00")}, D("100"))


def test_discount_is_rounded_per_line_and_taxes_follow_the_base():
    amounts = line_amounts(line(quantity="3", price="33.33", discount="10"))
    assert (amounts.importe, amounts.discount, amounts.base, amounts.taxes["IVA 16 %"],
            amounts.total) == (D("99.99"), D("10.00"), D("89.99"), D("14.40"), D("104.39"))


@pytest.mark.parametrize("quantity, price, expected", [
    ("1", "0.125", D("0.13")), ("0.5", "0.25", D("0.13")), ("1", "0.135", D("0.14")),
])
def test_importe_ties_round_half_up(quantity, price, expected):
    assert line_amounts(line(quantity, price, iva=None)).importe == expected


def test_retention_tie_rounds_half_up():
    # 0.40 × 1.25 % = 0.005: the SAT rounds half up (0.01), banker's rounding would give 0.00
    assert line_amounts(line(price="0.40", iva=None, ret_isr="1.25")).retained == {
        "ret_isr": D("0.01")}


def test_comprobante_totals_are_sums_of_rounded_lines():
    totals = compute([line(price="0.125"), line(price="0.125"), line(price="1000",
                                                                      ret_isr="1.25")])
    assert (totals.subtotal, totals.taxes, totals.retentions, totals.total) == (
        D("1000.26"), {"IVA 16 %": D("160.04")}, {"Retención ISR 1.25 %": D("12.50")},
        D("1147.80"))


def test_a_line_that_cannot_be_computed_is_none_not_zero():
    broken = SimpleNamespace(quantity=None, unit_price=D(1), discount_pct=D(0), iva="16",
                             ieps=None, ret_isr=None, ret_iva=None)
    totals = compute([broken, line()])
    assert (totals.lines[0], totals.total) == (None, D("116.00"))


def test_the_line_form_has_exactly_the_one_list_of_inputs():
    assert tuple(LineForm()._fields) == LINE_INPUTS


# -- mapping ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, wire", [
    (D("2"), 2), (D("0.5"), 0.5), (D("10.6667"), 10.6667), (D("0.1"), 0.1),
    (D("1.005"), 1.005), (D("123456789.123456"), 123456789.123456),
])
def test_wire_numbers_keep_every_digit(value, wire):
    assert mapping.wire_number(value) == wire and D(str(mapping.wire_number(value))) == value


def test_ids_and_amounts_are_parsed_liberally():
    assert (mapping.to_id(12.0), mapping.to_id("ab1"), mapping.to_id("")) == ("12", "ab1", None)
    assert (mapping.to_decimal("1160.00"), mapping.to_decimal(1160.5),
            mapping.to_decimal("x", D(0))) == (D("1160.00"), D("1160.5"), D(0))


def test_invoice_from_alegra_reads_uuid_in_stamp_and_the_marker():
    info = mapping.invoice_from_alegra({
        "id": 7, "numberTemplate": {"prefix": "A", "number": 15}, "total": "1160.00",
        "stamp": {"uuid": "ab-cd", "date": "2026-11-28"}, "emissionStatus":
        "STAMPED_AND_ACCEPTED", "observations": "apunto:0123abcd otra nota",
        "pdf": {"url": "http://x/p.pdf"}, "xml": "http://x/f.xml"})
    assert (info.id, info.serie, info.folio, info.uuid, info.total, info.marker, info.pdf_url,
            info.xml_url) == ("7", "A", "15", "AB-CD", D("1160.00"), "0123abcd",
                              "http://x/p.pdf", "http://x/f.xml")


def test_invoice_from_alegra_without_marker_or_uuid():
    info = mapping.invoice_from_alegra({"id": "9", "uuid": None, "observations": "nota"})
    assert (info.uuid, info.marker, info.total) == (None, None, None)


def test_fingerprint_ignores_key_order():
    assert mapping.fingerprint({"a": 1, "b": [2]}) == mapping.fingerprint({"b": [2], "a": 1})


def test_tax_keys_match_our_fields():
    assert mapping.tax_key({"type": "iva", "percentage": "16.00"}) == \
        mapping.our_tax_key("iva", "16") == ("IVA", "16")
    assert mapping.tax_key({"type": "IVA", "name": "IVA Exento"}) == \
        mapping.our_tax_key("iva", "exento")
    assert mapping.our_tax_key("ret_iva", "10.6667") == ("IVA", "10.6667")


# -- hints ------------------------------------------------------------------------------------
def test_a_relayed_sat_code_points_at_its_field():
    code, field, hint = hints.explain(AlegraError("Error al timbrar: CFDI40145 - Nombre",
                                                  status=400, code=3051))
    assert (code, field, hint.startswith("El nombre del cliente debe ser exactamente")) == (
        "CFDI40145", "customer.name", True)


@pytest.mark.parametrize("err, expected", [
    (AlegraError("Ya existe", status=400, code=2006), ("2006", "customer.rfc")),
    (AlegraError("No autorizado", status=401), ("401", None)),
    (AlegraError("Plan", status=402, code=402), ("402", None)),
])
def test_alegra_codes_and_statuses_get_a_hint(err, expected):
    code, field, hint = hints.explain(err)
    assert ((code, field), bool(hint)) == (expected, True)


def test_an_unknown_error_gets_no_invented_hint():
    assert hints.explain(AlegraError("Algo raro CFDI99999", status=400)) == (
        "CFDI99999", None, None)
