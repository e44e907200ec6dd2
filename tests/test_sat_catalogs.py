"""The shipped SAT catalogs: contents, 4.0-only codes, search, and sat-info."""
from apunto_fact.sat import catalogs as cat
from apunto_fact.sat import rules
from apunto_fact.sat.search import CODIGOS_POSTALES
from apunto_fact.sat.search import PRODUCTOS
from apunto_fact.sat.search import UNIDADES
from apunto_fact.sat.search import currency_decimals
from apunto_fact.sat.search import postal_code


def test_large_catalogs_are_complete():
    assert len(PRODUCTOS) > 52_000
    assert len(UNIDADES) > 2_400
    assert len(CODIGOS_POSTALES) == 95_749


def test_small_catalogs_are_the_40_ones():
    assert len(cat.REGIMENES) == 19 and not {"609", "628", "629", "630"} & set(cat.REGIMENES)
    assert len(cat.USOS_CFDI) == 24 and "P01" not in cat.USOS_CFDI
    assert len(cat.FORMAS_PAGO) == 22 and not {"07", "09", "98"} & set(cat.FORMAS_PAGO)


def test_uso_regimen_matrix_samples():
    assert cat.usos_for("616", cat.FISICA) == ["G02", "S01", "CP01"]
    assert "G03" not in cat.usos_for("605", cat.FISICA)
    assert "CN01" in cat.usos_for("605", cat.FISICA)
    assert "D01" not in cat.usos_for("626", cat.MORAL)
    assert cat.usos_for("610", cat.MORAL) == ["S01", "CP01"]


def test_search_is_accent_insensitive_both_ways():
    assert any(e.key == "80101500" for e in PRODUCTOS.search("consultoria"))
    assert any(e.key == "80101500" for e in PRODUCTOS.search("CONSULTORÍA"))
    assert PRODUCTOS.search("computo")[0].key == "43211500"  # "Computadores"
    assert [e.key for e in PRODUCTOS.search("80101500")] == ["80101500"]
    assert PRODUCTOS.search("") == []


def test_postal_codes_and_currencies():
    assert postal_code("06600") == ("Ciudad de México", "015", False)
    assert postal_code("22000")[2] is True  # región fronteriza
    assert postal_code("00100") is None
    assert currency_decimals("MXN") == 2 and currency_decimals("JPY") == 0


def test_capital_suffix_detection_is_whole_token():
    assert rules.capital_suffix("LA MESA") is None
    assert rules.capital_suffix("ASESORES S.C.") == "S.C."
    assert rules.capital_suffix("ACME S. DE R.L. DE C.V.") == "S. DE R.L. DE C.V."
    assert rules.without_capital_suffix("EMPRESA DEMO, S.A. DE C.V.") == "EMPRESA DEMO"


def test_sat_info_cli(runner):
    result = runner.invoke(args=["sat-info"])
    assert result.exit_code == 0
    assert "satcfdi==26.10.1" in result.output
    assert "c_ClaveProdServ" in result.output and "52,514" in result.output
    assert "c_CodigoPostal" in result.output and "95,749" in result.output
