"""Validate a CFDI against the SAT's own XSDs (cfdv40, Pagos20, TFD 1.1) shipped by satcfdi."""
import functools
import importlib.util
import os

from lxml import etree

SCHEMAS = ("cfd/4/cfdv40.xsd", "cfd/Pagos/Pagos20.xsd",
           "cfd/TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd")


@functools.cache
def _schema():
    # satcfdi is located, not imported: only its schema files are needed.
    package = os.path.dirname(importlib.util.find_spec("satcfdi").origin)
    root = os.path.join(package, "transform", "schemas", "www.sat.gob.mx", "sitio_internet")
    wrapper = etree.Element("{http://www.w3.org/2001/XMLSchema}schema")
    for relative in SCHEMAS:
        path = os.path.join(root, relative)
        namespace = etree.parse(path).getroot().get("targetNamespace")
        etree.SubElement(wrapper, "{http://www.w3.org/2001/XMLSchema}import",
                         namespace=namespace, schemaLocation="file://" + path)
    return etree.XMLSchema(wrapper)


def xsd_errors(content):
    """Return the XSD errors of a CFDI (an empty list when valid)."""
    schema = _schema()
    document = etree.fromstring(content)
    if schema.validate(document):
        return []
    return [f"{e.line}: {e.message}" for e in schema.error_log]
