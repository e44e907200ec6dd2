"""CSV import and export for catalogs (customers, products), Excel-friendly.

Import is two steps: upload → preview with per-row errors from the same forms and rules
used on screen → confirm, which writes only the valid rows in one transaction. The parsed
upload waits in instance/imports/ (not in the session cookie), and the rows with errors
can be downloaded, fixed and imported again.
"""
import csv
import io
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import request
from flask import url_for
from werkzeug.datastructures import MultiDict

from .extensions import db
from .forms import BaseForm
from .web import invalid
from .web import redirect_to
from .web import render

MAX_ROWS = 20_000
PREVIEW_ROWS = 200
ERRORS_COLUMN = "errores"


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message says why and what to do."""


@dataclass
class CsvSpec:
    """How one catalog maps to CSV columns and to its form and model."""

    name: str                 # "clientes"
    columns: list             # [(form field, CSV header)]
    required: tuple           # CSV headers that must be present
    form_factory: Callable    # () -> (MultiDict -> form); called once per import
    create: Callable          # (form) -> model instance, added to the session (no commit)
    export_rows: Callable     # () -> iterable of dicts keyed by form field
    normalizers: dict = None  # CSV header -> function fixing Excel's mangling
    unique: str = None        # form field that may not repeat within one file
    unique_exempt: tuple = () # values of `unique` that may repeat (generic RFCs)


class UploadForm(BaseForm):
    """Only the CSRF token: the file is read from request.files."""


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-16": "UTF-16 (texto Unicode de Excel)",
                  "cp1252": "Windows-1252 (el «CSV delimitado por comas» de Excel)"}


def neutralize(cell):
    """Export: prefix a formula-looking cell with ' so a spreadsheet shows it as text.

    Cells already starting with ' get one too, so restore() undoes exactly what was added.
    """
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_START + ("'",)) else text


def restore(cell):
    """Import: drop the ' that neutralize() added, giving back the original text."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START + ("'",):
        return cell[1:]
    return cell


def _clean(value):
    value = (value or "").strip()
    match = re.fullmatch(r'="(.*)"', value)  # Excel's trick to keep leading zeros
    return match.group(1) if match else restore(value)


def decode(raw):
    """Return (text, encoding) of an upload: UTF-8, UTF-16 with BOM, else Windows-1252.

    A strict, documented order rather than a statistical guess: Excel writes «CSV UTF-8»,
    «Texto Unicode» (UTF-16 with BOM) or, by default on Windows, Windows-1252 (a superset
    of Latin-1's printable characters). Detection libraries guessed cp775 or cp1250 for
    short Spanish files in our tests, which would silently corrupt names. Bytes that are
    undefined in Windows-1252 make the file refused with an explanation.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    for encoding, codec in (("utf-8", "utf-8-sig"), ("cp1252", "cp1252")):
        try:
            return raw.decode(codec), encoding
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        "No se pudo leer el archivo: no está en UTF-8 ni en Windows-1252. En Excel usa "
        "«Guardar como → CSV UTF-8 (delimitado por comas)» y vuelve a subirlo.")


def read_csv(raw, spec):
    """Decode and parse an uploaded CSV; return a list of {header: value} rows."""
    return read_csv_and_encoding(raw, spec)[0]


def read_csv_and_encoding(raw, spec):
    """Decode and parse an uploaded CSV; return (rows, encoding used)."""
    text, encoding = decode(raw)
    if "\x00" in text:
        raise ImportFileError("El archivo contiene caracteres nulos; no parece un CSV de texto.")
    if not text.strip():
        raise ImportFileError("El archivo está vacío.")
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [h for h in spec.required if h not in headers]
    if missing:
        expected = ", ".join(h for _, h in spec.columns)
        raise ImportFileError(f"Faltan las columnas: {', '.join(missing)}. El encabezado debe "
                              f"ser: {expected}. Descarga la exportación como plantilla.")
    rows = []
    try:
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(f"El archivo tiene más de {MAX_ROWS:,} filas; divídelo.")
            cleaned = {(k or "").strip().lower(): _clean(v if isinstance(v, str) else "")
                       for k, v in row.items()}
            if any(cleaned.values()):
                rows.append(cleaned)
    except csv.Error as exc:
        raise ImportFileError(f"El archivo no es un CSV válido (línea {reader.line_num}).") from exc
    return rows, encoding


def validate_rows(rows, spec):
    """Run every row through the spec's form; return (valid, invalid) lists of results.

    A valid result keeps its validated form under "form" (not saved with the preview).
    """
    valid, invalid_rows, seen = [], [], {}
    make_form = spec.form_factory()
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        for header, fix in (spec.normalizers or {}).items():
            row[header] = fix(row.get(header, ""))
        form = make_form(MultiDict({f: row.get(h, "") for f, h in spec.columns}))
        ok = form.validate()
        if spec.unique and ok:
            key = form[spec.unique].data
            if key in seen and key not in spec.unique_exempt:
                form[spec.unique].errors.append(f"Repetido en el archivo (línea {seen[key]}).")
                ok = False
            seen.setdefault(key, number)
        if ok:
            valid.append({"line": number, "row": row, "form": form})
        else:
            errors = [f"{form[f].label.text}: {m}" for f, msgs in form.errors.items()
                      for m in msgs]
            summary = " · ".join(row.get(h, "") for _, h in spec.columns if row.get(h))
            invalid_rows.append({"line": number, "row": row, "errors": errors,
                                 "summary": summary[:160]})
    return valid, invalid_rows


def _pending_path(token):
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token or ""):
        abort(404)
    return os.path.join(current_app.instance_path, "imports", f"{token}.json")


KEEP_PENDING_SECONDS = 24 * 3600


def _prune_pending(folder):
    """Forget previews older than a day: they hold customer data nobody will confirm."""
    limit = time.time() - KEEP_PENDING_SECONDS
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if ".json" in name and os.path.getmtime(path) < limit:
            os.remove(path)


def _save_pending(spec, valid, invalid_rows):
    token = secrets.token_urlsafe(24)
    path = _pending_path(token)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    _prune_pending(os.path.dirname(path))
    _write_private_json(path, {"spec": spec.name, "invalid": invalid_rows,
                               "valid": [{"line": r["line"], "row": r["row"]} for r in valid]})
    return token


def _write_private_json(path, data):
    """Previews hold customer data: readable by the owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)


def _load_pending(spec, token):
    path = _pending_path(token)
    try:
        with open(path, encoding="utf-8") as fh:
            pending = json.load(fh)
    except FileNotFoundError:
        abort(404)
    if pending["spec"] != spec.name:
        abort(404)
    return path, pending


class AlreadyClaimed(Exception):
    """Another request confirmed (or is confirming) this import."""


def _claim_pending(spec, token):
    """Take the preview for one confirm only: an atomic rename, so a double confirm can't
    import twice. Return (original path, claimed path, pending)."""
    path = _pending_path(token)
    claimed = f"{path}.{secrets.token_hex(8)}.claimed"
    try:
        os.rename(path, claimed)
    except FileNotFoundError as exc:
        folder, name = os.path.split(path)
        others = os.listdir(folder) if os.path.isdir(folder) else []
        if os.path.exists(f"{path}.done") or any(
                n.startswith(name + ".") and n.endswith(".claimed") for n in others):
            raise AlreadyClaimed() from exc
        abort(404)
    with open(claimed, encoding="utf-8") as fh:
        pending = json.load(fh)
    if pending["spec"] != spec.name:
        os.rename(claimed, path)
        abort(404)
    return path, claimed, pending


def to_csv(headers, rows):
    """Render rows as CSV text with a BOM, so Excel opens it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralize(h) for h in headers])
    writer.writerows([neutralize(cell) for cell in row] for row in rows)
    return "\ufeff" + out.getvalue()


def _download(text, filename):
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def register(bp, spec, index_endpoint):
    """Add export, import (upload → preview → confirm) and error-download routes to bp."""
    page = "csv/import.html"

    def export_csv():
        headers = [h for _, h in spec.columns]
        rows = ([("" if r.get(f) is None else str(r.get(f))) for f, _ in spec.columns]
                for r in spec.export_rows())
        return _download(to_csv(headers, rows), f"{spec.name}.csv")

    def import_csv():
        form = UploadForm()
        context = {"spec": spec, "form": form, "index": index_endpoint}
        if not form.validate_on_submit():
            if form.is_submitted():
                return invalid(page, **context)
            return render(page, **context)
        upload = request.files.get("archivo")
        try:
            if upload is None or not upload.filename:
                raise ImportFileError("Elige un archivo CSV.")
            rows, encoding = read_csv_and_encoding(upload.read(), spec)
        except ImportFileError as exc:
            return invalid(page, file_error=str(exc), **context)
        valid, invalid_rows = validate_rows(rows, spec)
        token = _save_pending(spec, valid, invalid_rows)
        return render(page, token=token, valid=valid, invalid_rows=invalid_rows[:PREVIEW_ROWS],
                      invalid_count=len(invalid_rows), encoding=ENCODING_NAMES[encoding],
                      **context)

    def confirm(token):
        try:
            path, claimed, pending = _claim_pending(spec, token)
        except AlreadyClaimed:
            flash("Esta importación ya se confirmó (quizá desde otra ventana o con un doble "
                  "clic); no se importó nada otra vez.", "ok")
            return redirect_to(url_for(index_endpoint))
        try:
            # Re-check: something may have changed since the preview (e.g. a new customer).
            valid, _ = validate_rows([r["row"] for r in pending["valid"]], spec)
            for result in valid:
                spec.create(result["form"])
            db.session.commit()  # all valid rows, or none
        except Exception:
            db.session.rollback()
            os.rename(claimed, path)  # nothing was imported: the preview can be confirmed again
            raise
        skipped = len(pending["valid"]) - len(valid)
        if pending["invalid"]:
            pending["valid"] = []  # keep only what the error download needs
            _write_private_json(path, pending)
        _write_private_json(f"{path}.done", {"spec": spec.name})  # a later confirm is told so
        os.remove(claimed)
        message = f"Se importaron {len(valid)} fila(s)."
        if skipped:
            message += f" {skipped} dejaron de ser válidas desde la vista previa y no se importaron."
        flash(message, "ok")
        return redirect_to(url_for(index_endpoint))

    def errors_csv(token):
        _, pending = _load_pending(spec, token)
        headers = [h for _, h in spec.columns] + [ERRORS_COLUMN]
        rows = ([r["row"].get(h, "") for _, h in spec.columns] + ["; ".join(r["errors"])]
                for r in pending["invalid"])
        return _download(to_csv(headers, rows), f"{spec.name}-con-errores.csv")

    bp.add_url_rule("/exportar.csv", "export_csv", export_csv)
    bp.add_url_rule("/importar", "import_csv", import_csv, methods=["GET", "POST"])
    bp.add_url_rule("/importar/<token>", "import_confirm", confirm, methods=["POST"])
    bp.add_url_rule("/importar/<token>/errores.csv", "import_errors", errors_csv)
