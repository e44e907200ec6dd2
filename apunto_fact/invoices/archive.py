"""The local archive of stamped XML and PDF files, under instance/archivo/YYYY/MM/."""
import os

from flask import current_app



def file_name(invoice, kind):
    """<serie><folio>_<UUID>.<kind>, as accountants expect."""
    return f"{invoice.serie}{invoice.folio}_{invoice.uuid}.{kind}"


def _relative(invoice, kind):
    return os.path.join(invoice.date.strftime("%Y"), invoice.date.strftime("%m"),
                        file_name(invoice, kind))


def _absolute(relative):
    return os.path.join(current_app.config["ARCHIVE_PATH"], relative)


def save(invoice, kind, content):
    """Write a file atomically and remember where it is."""
    relative = _relative(invoice, kind)
    path = _absolute(relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(content)
    os.replace(tmp, path)
    setattr(invoice, f"{kind}_path", relative)


def read(invoice, kind):
    """Return the archived bytes, or None when the file is not here."""
    relative = getattr(invoice, f"{kind}_path")
    if not relative or not os.path.exists(_absolute(relative)):
        return None
    with open(_absolute(relative), "rb") as fh:
        return fh.read()
