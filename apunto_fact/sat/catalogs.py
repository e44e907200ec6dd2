"""Small CFDI 4.0 catalogs with their flags (cfdi40-rules.md §4–§11).

Source: phpcfdi/resources-sat-catalogs 10.14.20260806 (public domain dump of the SAT's
catCFDI_V_4 XLS), checked against the SAT error matrix of 2024-12-13. 3.3-only codes
(régimen 609/628–630, uso P01, legacy formas de pago, TipoRelacion 08/09) are left out on
purpose: the PAC rejects them in 4.0.
"""
FISICA, MORAL = "fisica", "moral"

# code: (description, física allowed, moral allowed)  — §4, rules 40157/40158
REGIMENES = {
    "601": ("General de Ley Personas Morales", False, True),
    "603": ("Personas Morales con Fines no Lucrativos", False, True),
    "605": ("Sueldos y Salarios e Ingresos Asimilados a Salarios", True, False),
    "606": ("Arrendamiento", True, False),
    "607": ("Régimen de Enajenación o Adquisición de Bienes", True, False),
    "608": ("Demás ingresos", True, False),
    "610": ("Residentes en el Extranjero sin Establecimiento Permanente en México", True, True),
    "611": ("Ingresos por Dividendos (socios y accionistas)", True, False),
    "612": ("Personas Físicas con Actividades Empresariales y Profesionales", True, False),
    "614": ("Ingresos por intereses", True, False),
    "615": ("Régimen de los ingresos por obtención de premios", True, False),
    "616": ("Sin obligaciones fiscales", True, False),
    "620": ("Sociedades Cooperativas de Producción que optan por diferir sus ingresos",
            False, True),
    "621": ("Incorporación Fiscal", True, False),
    "622": ("Actividades Agrícolas, Ganaderas, Silvícolas y Pesqueras", False, True),
    "623": ("Opcional para Grupos de Sociedades", False, True),
    "624": ("Coordinados", False, True),
    "625": ("Régimen de las Actividades Empresariales con ingresos a través de Plataformas "
            "Tecnológicas", True, False),
    "626": ("Régimen Simplificado de Confianza", True, True),
}

_ALL = tuple(REGIMENES)
_BUSINESS = ("601", "603", "606", "612", "620", "621", "622", "623", "624", "625", "626")
_PERSONAL = ("605", "606", "607", "608", "611", "612", "614", "615", "625")

# code: (description, física, moral, allowed receptor régimen codes) — §5, rule 40161
USOS_CFDI = {
    "G01": ("Adquisición de mercancías", True, True, _BUSINESS),
    "G02": ("Devoluciones, descuentos o bonificaciones", True, True, _BUSINESS + ("616",)),
    "G03": ("Gastos en general", True, True, _BUSINESS),
    "I01": ("Construcciones", True, True, _BUSINESS),
    "I02": ("Mobiliario y equipo de oficina por inversiones", True, True, _BUSINESS),
    "I03": ("Equipo de transporte", True, True, _BUSINESS),
    "I04": ("Equipo de computo y accesorios", True, True, _BUSINESS),
    "I05": ("Dados, troqueles, moldes, matrices y herramental", True, True, _BUSINESS),
    "I06": ("Comunicaciones telefónicas", True, True, _BUSINESS),
    "I07": ("Comunicaciones satelitales", True, True, _BUSINESS),
    "I08": ("Otra maquinaria y equipo", True, True, _BUSINESS),
    "D01": ("Honorarios médicos, dentales y gastos hospitalarios", True, False, _PERSONAL),
    "D02": ("Gastos médicos por incapacidad o discapacidad", True, False, _PERSONAL),
    "D03": ("Gastos funerales", True, False, _PERSONAL),
    "D04": ("Donativos", True, False, _PERSONAL),
    "D05": ("Intereses reales efectivamente pagados por créditos hipotecarios (casa "
            "habitación)", True, False, _PERSONAL),
    "D06": ("Aportaciones voluntarias al SAR", True, False, _PERSONAL),
    "D07": ("Primas por seguros de gastos médicos", True, False, _PERSONAL),
    "D08": ("Gastos de transportación escolar obligatoria", True, False, _PERSONAL),
    "D09": ("Depósitos en cuentas para el ahorro, primas que tengan como base planes de "
            "pensiones", True, False, _PERSONAL),
    "D10": ("Pagos por servicios educativos (colegiaturas)", True, False, _PERSONAL),
    "S01": ("Sin efectos fiscales", True, True, _ALL),
    "CP01": ("Pagos", True, True, _ALL),
    "CN01": ("Nómina", True, False, ("605",)),
}

# §6.1: the 22 codes of CFDI 4.0.
FORMAS_PAGO = {
    "01": "Efectivo", "02": "Cheque nominativo", "03": "Transferencia electrónica de fondos",
    "04": "Tarjeta de crédito", "05": "Monedero electrónico", "06": "Dinero electrónico",
    "08": "Vales de despensa", "12": "Dación en pago", "13": "Pago por subrogación",
    "14": "Pago por consignación", "15": "Condonación", "17": "Compensación",
    "23": "Novación", "24": "Confusión", "25": "Remisión de deuda",
    "26": "Prescripción o caducidad", "27": "A satisfacción del acreedor",
    "28": "Tarjeta de débito", "29": "Tarjeta de servicios", "30": "Aplicación de anticipos",
    "31": "Intermediario pagos", "99": "Por definir",
}

METODOS_PAGO = {"PUE": "Pago en una sola exhibición", "PPD": "Pago en parcialidades o diferido"}

# §7.2; 04–08 are valid but rare: kept so data from other systems is accepted.
OBJETOS_IMP = {
    "01": "No objeto de impuesto",
    "02": "Sí objeto de impuesto",
    "03": "Sí objeto del impuesto y no obligado al desglose",
    "04": "Sí objeto del impuesto y no causa impuesto",
    "05": "Sí objeto del impuesto, IVA crédito PODEBI",
    "06": "Sí objeto del IVA, No traslado IVA",
    "07": "No traslado del IVA, Sí desglose IEPS",
    "08": "No traslado del IVA, No desglose IEPS",
}

# Product tax options (§7.4–§7.5). IVA: rate as text, or "exento" (TipoFactor Exento).
IVA_OPTIONS = {"16": "IVA 16 %", "8": "IVA 8 % (frontera)", "0": "IVA 0 %", "exento": "IVA exento"}
# IEPS traslado rates of c_TasaOCuota (Tasa, fixed values), as percentages.
IEPS_OPTIONS = {p: f"IEPS {p} %" for p in ("3", "6", "7", "8", "9", "25", "26.5", "30",
                                             "30.4", "50", "53", "160")}
RET_ISR_OPTIONS = {"10": "Retención ISR 10 %", "1.25": "Retención ISR RESICO 1.25 %"}
RET_IVA_OPTIONS = {"10.6667": "Retención IVA 10.6667 % (dos terceras partes)",
                   "4": "Retención IVA 4 % (autotransporte)", "16": "Retención IVA 16 %"}

# §11.1
MOTIVOS_CANCELACION = {
    "01": "Comprobante emitido con errores con relación",
    "02": "Comprobante emitido con errores sin relación",
    "03": "No se llevó a cabo la operación",
    "04": "Operación nominativa relacionada en una factura global",
}

TIPOS_SOCIO = {"cliente": "Cliente", "proveedor": "Proveedor",
               "ambos": "Cliente y proveedor"}

# InformacionGlobal of a factura global (cfdi40-rules §2.2, Anexo 20 c_Periodicidad, c_Meses).
PERIODICIDADES = {"01": "Diario", "02": "Semanal", "03": "Quincenal", "04": "Mensual",
                  "05": "Bimestral"}
MESES = {"01": "Enero", "02": "Febrero", "03": "Marzo", "04": "Abril", "05": "Mayo",
         "06": "Junio", "07": "Julio", "08": "Agosto", "09": "Septiembre", "10": "Octubre",
         "11": "Noviembre", "12": "Diciembre", "13": "Enero-Febrero", "14": "Marzo-Abril",
         "15": "Mayo-Junio", "16": "Julio-Agosto", "17": "Septiembre-Octubre",
         "18": "Noviembre-Diciembre"}

GENERIC_NATIONAL = "XAXX010101000"
GENERIC_FOREIGN = "XEXX010101000"
GENERIC_RFCS = (GENERIC_NATIONAL, GENERIC_FOREIGN)
PUBLICO_EN_GENERAL = "PUBLICO EN GENERAL"


def options(catalog):
    """Return {code: label} for every entry of a small catalog."""
    return {code: label(catalog, code) for code in catalog}


def label(catalog, code):
    """Return "description (code)" for a select option: plain words first, the SAT code second."""
    entry = catalog[code]
    return f"{entry[0] if isinstance(entry, tuple) else entry} ({code})"


def regimenes_for(persona):
    """Régimen codes a persona type can have (40158); all when the type is unknown."""
    if persona is None:
        return list(REGIMENES)
    column = 1 if persona == FISICA else 2
    return [code for code, row in REGIMENES.items() if row[column]]


def usos_for(regimen, persona):
    """Uso CFDI codes the receptor's régimen and persona type allow (40161)."""
    column = 1 if persona == FISICA else 2
    return [code for code, row in USOS_CFDI.items()
            if (persona is None or row[column]) and (regimen is None or regimen in row[3])]
