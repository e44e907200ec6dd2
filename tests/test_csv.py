"""CSV import/export of customers and products: preview, per-row errors, one transaction."""
import csv
import io
import re

from apunto_fact.customers.models import Customer
from apunto_fact.extensions import db
from apunto_fact.products.models import Product

HEADER = ("rfc,razon_social,regimen_fiscal,uso_cfdi,metodo_pago,forma_pago,dias_credito,"
          "tipo_socio,codigo_postal,email")
GOOD = "EKU9003173C9,ESCUELA KEMPER URGATE,601,G03,PUE,03,0,cliente,42501,a@b.mx"
GOOD2 = "CACX7605101P8,XOCHILT CASAS CHAVEZ,605,D01,PPD,99,15,cliente,06600,"
BAD_RFC = "EKU900230AB1,MALA FECHA,601,G03,PUE,03,0,cliente,42501,"
BAD_USO = "EKU9003173C8,OTRA,605,G03,PUE,03,0,cliente,42501,"


def upload(user, text, url="/clientes/importar", encoding="utf-8"):
    user.get(url)
    data = text.encode(encoding) if isinstance(text, str) else text
    return user.client.post(url, data={"csrf_token": user.token,
                                       "archivo": (io.BytesIO(data), "clientes.csv")},
                            content_type="multipart/form-data")


def token_of(response):
    return re.search(r"/importar/([A-Za-z0-9_-]+)", response.get_data(as_text=True)).group(1)


def customers(app):
    with app.app_context():
        return db.session.query(Customer).order_by(Customer.rfc).all()


def test_preview_then_import_only_valid_rows(app, user):
    text = "\n".join([HEADER, GOOD, BAD_RFC, GOOD2, BAD_USO])
    preview = upload(user, text)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "<strong>2</strong> fila(s) válidas" in html and "<strong>2</strong> con errores" in html
    assert "no existe en el calendario" in html and "CFDI40158" in html
    assert customers(app) == []  # nothing written before confirming
    done = user.post(f"/clientes/importar/{token_of(preview)}")
    assert done.status_code == 303
    assert [c.rfc for c in customers(app)] == ["CACX7605101P8", "EKU9003173C9"]
    assert customers(app)[0].forma_pago == "99" and customers(app)[0].credit_days == 15


def test_error_rows_can_be_downloaded_to_fix(app, user):
    preview = upload(user, "\n".join([HEADER, GOOD, BAD_RFC]))
    token = token_of(preview)
    user.post(f"/clientes/importar/{token}")
    download = user.get(f"/clientes/importar/{token}/errores.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][-1] == "errores" and rows[1][0] == "EKU900230AB1"
    assert "calendario" in rows[1][-1]


def test_excel_semicolons_bom_and_stripped_zeros(app, user):
    text = "\ufeff" + "\n".join([HEADER.replace(",", ";"),
                                 "EKU9003173C9;ESCUELA KEMPER URGATE;601;G03;PUE;3;;Cliente;42501;"])
    preview = upload(user, text)
    assert "<strong>1</strong> fila(s) válidas" in preview.get_data(as_text=True)
    user.post(f"/clientes/importar/{token_of(preview)}")
    [customer] = customers(app)
    assert customer.forma_pago == "03" and customer.credit_days == 0


def test_four_digit_cp_from_excel_gets_a_clear_row_error(user):
    preview = upload(user, "\n".join([HEADER, GOOD.replace("42501", "6600")]))
    assert "exactamente 5 dígitos" in preview.get_data(as_text=True)


def test_duplicate_rfc_within_the_file_and_against_the_database(app, user):
    preview = upload(user, "\n".join([HEADER, GOOD, GOOD]))
    html = preview.get_data(as_text=True)
    assert "<strong>1</strong> fila(s) válidas" in html and "Repetido en el archivo (línea 2)" in html
    user.post(f"/clientes/importar/{token_of(preview)}")
    again = upload(user, "\n".join([HEADER, GOOD])).get_data(as_text=True)
    assert "Ya existe un cliente con este RFC" in again


def test_wrong_header_is_refused_with_the_expected_one(app, user):
    response = upload(user, "nombre,correo\nJuan,j@x.mx")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Faltan las columnas: rfc, razon_social" in html and HEADER.split(",")[0] in html


def test_undecodable_file_is_explained(user):
    # 0x81 and 0x9D are undefined in Windows-1252 and invalid in UTF-8.
    response = upload(user, "\n".join([HEADER, GOOD]).encode() + b"\x81\x9d", encoding=None)
    assert response.status_code == 422
    assert "no está en UTF-8 ni en Windows-1252" in response.get_data(as_text=True)


def test_empty_and_missing_file(user):
    assert "está vacío" in upload(user, "").get_data(as_text=True)
    user.get("/clientes/importar")
    response = user.post("/clientes/importar", {})
    assert response.status_code == 422 and "Elige un archivo CSV." in response.get_data(as_text=True)


def test_ten_thousand_rows_import_in_one_go(app, user):
    lines = [HEADER] + [f"XAXX010101000,CLIENTE {i},616,S01,PUE,01,0,cliente,42501,"
                        for i in range(10_000)]
    with app.test_request_context():
        from apunto_fact.settings import company
        company.save({"rfc": "EKU9003173C9", "name": "ESCUELA KEMPER URGATE", "regimen": "601",
                      "cp": "42501"})
    preview = upload(user, "\n".join(lines))
    html = preview.get_data(as_text=True)
    assert "<strong>10000</strong> fila(s) válidas" in html
    user.post(f"/clientes/importar/{token_of(preview)}")
    assert len(customers(app)) == 10_000


def test_confirm_rechecks_rows_that_became_invalid(app, user):
    preview = upload(user, "\n".join([HEADER, GOOD]))
    user.post("/clientes/nuevo", {"rfc": "EKU9003173C9", "name": "YA EXISTE", "regimen": "601",
                                  "uso_cfdi": "G03", "metodo_pago": "PUE", "forma_pago": "03",
                                  "credit_days": "0", "partner_type": "cliente", "cp": "42501"})
    user.post(f"/clientes/importar/{token_of(preview)}")
    assert [c.name for c in customers(app)] == ["YA EXISTE"]


def test_export_round_trips(app, user):
    upload_response = upload(user, "\n".join([HEADER, GOOD, GOOD2]))
    user.post(f"/clientes/importar/{token_of(upload_response)}")
    exported = user.get("/clientes/exportar.csv")
    text = exported.get_data(as_text=True)
    assert text.startswith("\ufeff") and exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    assert "06600" in text and "XOCHILT CASAS CHAVEZ" in text
    with app.app_context():
        db.session.query(Customer).delete()
        db.session.commit()
    preview = upload(user, text)
    assert "<strong>2</strong> fila(s) válidas" in preview.get_data(as_text=True)


def test_unknown_import_token_is_404(user):
    assert user.post("/clientes/importar/" + "x" * 32).status_code == 404
    assert user.get("/clientes/importar/../../etc/errores.csv").status_code == 404


def test_products_import_and_export(app, user):
    header = "nombre,codigo,clave_prod_serv,clave_unidad,precio_unitario,objeto_imp,iva,ieps,retencion_isr,retencion_iva"
    rows = ["Consultoría,C1,80101500,E48,1250.50,2,16%,,10,10.6667",
            "Pieza,P1,25174000,h87,0,02,16,,,",
            "X,P2,80101500,E48,10,02,16,,,"]
    preview = upload(user, "\n".join([header, *rows]), url="/productos/importar")
    html = preview.get_data(as_text=True)
    assert "<strong>1</strong> fila(s) válidas" in html
    assert "mayor que cero" in html and "entre 2 y 50" in html
    user.post(f"/productos/importar/{token_of(preview)}")
    with app.app_context():
        [product] = db.session.query(Product).all()
        assert (product.objeto_imp, product.iva, product.ret_isr) == ("02", "16", "10")
    exported = user.get("/productos/exportar.csv").get_data(as_text=True)
    assert "Consultoría,C1,80101500,E48,1250.5,02,16,,10,10.6667" in exported


def test_day_old_previews_are_pruned_on_the_next_upload(app, user):
    import os
    import time
    first = token_of(upload(user, "\n".join([HEADER, GOOD, BAD_RFC])))
    old = os.path.join(app.instance_path, "imports", f"{first}.json")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    upload(user, "\n".join([HEADER, GOOD]))
    assert not os.path.exists(old)
    assert user.get(f"/clientes/importar/{first}/errores.csv").status_code == 404


def test_windows_1252_file_is_read_and_the_encoding_is_said(app, user):
    text = "\r\n".join([HEADER, GOOD.replace("ESCUELA KEMPER URGATE", "ESCUELA KÉMPER ÑUÑEZ")])
    response = upload(user, text, encoding="cp1252")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Archivo leído como Windows-1252" in html
    user.post(f"/clientes/importar/{token_of(response)}")
    assert [c.name for c in customers(app)] == ["ESCUELA KÉMPER ÑUÑEZ"]


def test_utf8_file_says_utf8(user):
    assert "Archivo leído como UTF-8" in upload(user, "\n".join([HEADER, GOOD])).get_data(
        as_text=True)


FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+52 55 1234", "-1+2", "@SUM(A1)", "'=ya",
            "normal"]


def test_export_neutralises_formulas_and_import_restores_them(app, user):
    from apunto_fact import csvio
    for value in FORMULAS:
        assert csvio.restore(csvio.neutralize(value)) == value
    assert [csvio.neutralize(v)[:2] for v in FORMULAS] == ["'=", "'+", "'-", "'@", "''", "no"]
    for number, value in enumerate(FORMULAS):
        user.post("/productos/nuevo", {"name": f"P{number}", "sku": value,
                                       "clave_prod_serv": "80101500", "clave_unidad": "E48",
                                       "unit_price": "10", "objeto_imp": "02", "iva": "16"},
                  htmx=True)
    exported = user.get("/productos/exportar.csv")
    assert exported.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    skus = sorted(r[1] for r in rows[1:])
    assert all(not s.startswith(("=", "+", "-", "@")) for s in skus)
    # Re-importing the exported file restores every value exactly.
    with app.app_context():
        db.session.query(Product).delete()
        db.session.commit()
    response = upload(user, exported.get_data(), url="/productos/importar", encoding=None)
    user.post(f"/productos/importar/{token_of(response)}")
    with app.app_context():
        assert sorted(p.sku for p in db.session.query(Product)) == sorted(FORMULAS)


def test_double_confirm_imports_once_and_explains_the_second(app, user):
    response = upload(user, "\n".join([HEADER, GOOD, GOOD2]))
    token = token_of(response)
    first = user.post(f"/clientes/importar/{token}")
    second = user.post(f"/clientes/importar/{token}")
    assert first.status_code == second.status_code == 303
    assert len(customers(app)) == 2
    page = user.get("/clientes/").get_data(as_text=True)
    assert "ya se confirmó" in page


def test_parallel_confirms_import_once(app, user):
    from concurrent.futures import ThreadPoolExecutor
    rows = [f"{HEADER}"] + [GOOD, GOOD2]
    token = token_of(upload(user, "\n".join(rows)))
    clients = []
    for _ in range(6):
        other = app.test_client()
        other.set_cookie("session", user.client.get_cookie("session").value)
        clients.append(other)

    def confirm(client):
        return client.post(f"/clientes/importar/{token}",
                           data={"csrf_token": user.token}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(confirm, clients))
    assert statuses == [303] * 6
    assert len(customers(app)) == 2
