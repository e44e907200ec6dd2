"""Check a CFDI 4.0 XML against the SAT's XSDs (as satcfdi ships them) and Anexo 20's sums."""
import importlib.util
import os
from decimal import Decimal
from functools import lru_cache

from lxml import etree

CFDI = "{http://www.sat.gob.mx/cfd/4}"
SAT_URL = "http://www.sat.gob.mx/"
EXEMPT = "Exento"


def _schemas_root():
    spec = importlib.util.find_spec("satcfdi")  # located, never imported (it pulls weasyprint)
    return os.path.join(spec.submodule_search_locations[0], "transform", "schemas",
                        "www.sat.gob.mx")


class _LocalSat(etree.Resolver):
    """Serve http://www.sat.gob.mx/... schema imports from satcfdi's copies."""

    def resolve(self, url, pubid, context):
        if url.startswith(SAT_URL):
            return self.resolve_filename(os.path.join(_schemas_root(), url[len(SAT_URL):]),
                                         context)
        return None


@lru_cache(maxsize=1)
def schema():
    """cfdv40.xsd plus the TimbreFiscalDigital 1.1 it carries in Complemento."""
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:import namespace="http://www.sat.gob.mx/cfd/4"
                 schemaLocation="{SAT_URL}sitio_internet/cfd/4/cfdv40.xsd"/>
      <xs:import namespace="http://www.sat.gob.mx/TimbreFiscalDigital"
                 schemaLocation="{SAT_URL}sitio_internet/cfd/TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd"/>
    </xs:schema>"""
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalSat())
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), parser,
                                            base_url=os.path.join(_schemas_root(), "w.xsd")))


def xsd_errors(xml):
    """XSD errors of a CFDI (empty when valid)."""
    doc = etree.fromstring(xml)
    check = schema()
    return [] if check.validate(doc) else [str(e) for e in check.error_log]


def _d(node, name):
    value = node.get(name)
    return Decimal(value) if value is not None else Decimal(0)


def structural_errors(xml, emisor_regimen=None):
    """Anexo 20 rules a schema cannot check (alegra-evidence.md §6); empty when it obeys."""
    root = etree.fromstring(xml)
    errors = []
    concepts = root.findall(f"{CFDI}Conceptos/{CFDI}Concepto")
    line_transfers = {}
    line_retentions = {}
    for concept in concepts:
        taxes = concept.find(f"{CFDI}Impuestos")
        objeto = concept.get("ObjetoImp")
        if objeto == "02" and taxes is None:
            errors.append("ObjetoImp 02 sin impuestos (CFDI40171)")
        if objeto != "02" and taxes is not None:
            errors.append(f"ObjetoImp {objeto} con impuestos (CFDI40172)")
        for tr in concept.iterfind(f"{CFDI}Impuestos/{CFDI}Traslados/{CFDI}Traslado"):
            key = (tr.get("Impuesto"), tr.get("TipoFactor"), tr.get("TasaOCuota"))
            base, amount = line_transfers.get(key, (Decimal(0), Decimal(0)))
            line_transfers[key] = (base + _d(tr, "Base"), amount + _d(tr, "Importe"))
            if tr.get("TipoFactor") != EXEMPT:
                expected = _d(tr, "Base") * _d(tr, "TasaOCuota")
                if abs(expected - _d(tr, "Importe")) > Decimal("0.01"):
                    errors.append(f"Traslado Importe {tr.get('Importe')} ≠ Base × Tasa")
        for ret in concept.iterfind(f"{CFDI}Impuestos/{CFDI}Retenciones/{CFDI}Retencion"):
            line_retentions[ret.get("Impuesto")] = \
                line_retentions.get(ret.get("Impuesto"), Decimal(0)) + _d(ret, "Importe")
            expected = _d(ret, "Base") * _d(ret, "TasaOCuota")
            if abs(expected - _d(ret, "Importe")) > Decimal("0.01"):
                errors.append(f"Retención Importe {ret.get('Importe')} ≠ Base × Tasa")
    summary = root.find(f"{CFDI}Impuestos")
    doc_transfers = {}
    doc_retentions = {}
    if summary is not None:
        for tr in summary.iterfind(f"{CFDI}Traslados/{CFDI}Traslado"):
            key = (tr.get("Impuesto"), tr.get("TipoFactor"), tr.get("TasaOCuota"))
            if key in doc_transfers:
                errors.append(f"Traslado {key} repetido: debe agruparse (CFDI40201)")
            doc_transfers[key] = (_d(tr, "Base"), _d(tr, "Importe"))
        for ret in summary.iterfind(f"{CFDI}Retenciones/{CFDI}Retencion"):
            if ret.get("Impuesto") in doc_retentions:
                errors.append(f"Retención {ret.get('Impuesto')} repetida (CFDI40196)")
            doc_retentions[ret.get("Impuesto")] = _d(ret, "Importe")
    if doc_transfers != line_transfers:
        errors.append(f"Traslados del comprobante {doc_transfers} ≠ suma de conceptos "
                      f"{line_transfers}")
    if doc_retentions != line_retentions:
        errors.append(f"Retenciones del comprobante {doc_retentions} ≠ suma de conceptos "
                      f"{line_retentions}")
    total_transfers = sum((a for (_, f, _), (_, a) in doc_transfers.items() if f != EXEMPT),
                          Decimal(0))
    total_retentions = sum(doc_retentions.values(), Decimal(0))
    has_taxed = any(f != EXEMPT for (_, f, _) in doc_transfers)
    if summary is not None:
        if has_taxed != (summary.get("TotalImpuestosTrasladados") is not None):
            errors.append("TotalImpuestosTrasladados presente sin traslados con tasa, o al revés")
        if has_taxed and _d(summary, "TotalImpuestosTrasladados") != total_transfers:
            errors.append("TotalImpuestosTrasladados ≠ suma de Traslados (CFDI40203)")
        if bool(doc_retentions) != (summary.get("TotalImpuestosRetenidos") is not None):
            errors.append("TotalImpuestosRetenidos sin Retenciones, o al revés")
        if doc_retentions and _d(summary, "TotalImpuestosRetenidos") != total_retentions:
            errors.append("TotalImpuestosRetenidos ≠ suma de Retenciones (CFDI40199)")
    elif line_transfers or line_retentions:
        errors.append("Conceptos con impuestos y sin nodo Impuestos del comprobante")
    subtotal = sum((_d(c, "Importe") for c in concepts), Decimal(0))
    discount = sum((_d(c, "Descuento") for c in concepts), Decimal(0))
    if subtotal != _d(root, "SubTotal"):
        errors.append("SubTotal ≠ suma de Importe de los conceptos (CFDI40108)")
    if discount != _d(root, "Descuento"):
        errors.append("Descuento ≠ suma de descuentos de los conceptos (CFDI40110)")
    if subtotal - discount + total_transfers - total_retentions != _d(root, "Total"):
        errors.append("Total ≠ SubTotal − Descuento + traslados − retenciones (CFDI40119)")
    emisor = root.find(f"{CFDI}Emisor")
    if emisor_regimen and emisor.get("RegimenFiscal") != emisor_regimen:
        errors.append(f"Emisor RegimenFiscal {emisor.get('RegimenFiscal')} ≠ el de la empresa "
                      f"{emisor_regimen}")
    receptor = root.find(f"{CFDI}Receptor")
    if receptor.get("Rfc") == "XAXX010101000" and receptor.get("Nombre") == "PUBLICO EN GENERAL":
        if root.find(f"{CFDI}InformacionGlobal") is None:
            errors.append("PUBLICO EN GENERAL sin InformacionGlobal (CFDI40130)")
        if receptor.get("RegimenFiscalReceptor") != "616" or receptor.get("UsoCFDI") != "S01":
            errors.append("Factura global: régimen 616 y uso S01 (CFDI40159)")
        if receptor.get("DomicilioFiscalReceptor") != root.get("LugarExpedicion"):
            errors.append("RFC genérico: domicilio = LugarExpedicion (CFDI40149)")
    return errors


def check_store(store, seen):
    """Validate every XML file of a sandbox store not checked yet; return the failures."""
    failures = []
    for invoice in store.all("invoices"):
        name = (invoice.get("_files") or {}).get("xml")
        if not name or name in seen or not invoice.get("stamp"):
            continue
        seen.add(name)
        xml = store.file(name)
        from apunto_fact.sandbox.documents import emisor_regimen
        company = store.get("company", 1)
        problems = xsd_errors(xml) + structural_errors(xml, emisor_regimen(company))
        if problems:
            failures.append((invoice["id"], problems))
    return failures
