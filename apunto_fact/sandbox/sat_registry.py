"""A tiny stand-in for the SAT's list of taxpayers (LRFC), for stamping rejections.

RFCs listed here must come with exactly this name, CP and one of these régimenes, or the
sandbox rejects the stamp the way Alegra relays a PAC error (code 3051). RFCs not listed
are accepted: the real SAT would check them, the sandbox cannot know them.
"""

REGISTRY = {
    # The SAT's public test identities (cfdi40-rules.md §2.2) plus a few of our own.
    "EKU9003173C9": ("ESCUELA KEMPER URGATE", "42501", {"601"}),
    "CACX7605101P8": ("XOCHILT CASAS CHAVEZ", "10740", {"605", "612"}),
    "IIA040805DZ4": ("INDISTRIA ILUMINADORA DE ALMACENES", "62661", {"601"}),
    "MOFY900516NL1": ("YADIRA MORALES FLORES", "06600", {"612", "626"}),
}


def check(rfc, name, zip_code, regime_code):
    """Return (sat_code, message) of the first mismatch, or None."""
    entry = REGISTRY.get(rfc)
    if entry is None:
        return None
    registered_name, registered_cp, regimes = entry
    if " ".join((name or "").upper().split()) != registered_name:
        return ("CFDI40145", "El campo Nombre del receptor, debe pertenecer al nombre asociado "
                             "al RFC registrado en el campo Rfc del Receptor.")
    if zip_code != registered_cp:
        return ("CFDI40147", "El campo DomicilioFiscalReceptor del receptor, debe encontrarse "
                             "en la lista de RFC inscritos no cancelados en el SAT.")
    if regime_code not in regimes:
        return ("CFDI40158", "La clave del campo RegimenFiscalR debe corresponder con el "
                             "régimen registrado en el SAT para el RFC del receptor.")
    return None
