"""Demo data of the sandbox: a Mexican company and its tax setup (alegra-api.md §5, §7, §8)."""

# EKU9003173C9 / ESCUELA KEMPER URGATE is the SAT's public test identity (cfdi40-rules §2.2).
COMPANY = {
    "id": "1",
    "name": "ESCUELA KEMPER URGATE",
    "identification": "EKU9003173C9",
    "regime": "GENERAL_REGIME_OF_MORAL_PEOPLE_LAW",
    "applicationVersion": "mexico",
    "decimalPrecision": "2",
    "timezone": "America/Mexico_City",
    "email": "facturacion@kemper.example.mx",
    "address": {"street": "Av. Juárez", "exteriorNumber": "10", "colony": "Centro",
                "municipality": "Pachuca de Soto", "state": "Hidalgo", "zipCode": "42501",
                "country": "MEX"},
    "currency": {"code": "MXN", "symbol": "$"},
}

TAXES = [
    {"name": "IVA", "percentage": "16.00", "description": "IVA 16%", "type": "IVA"},
    {"name": "IVA Frontera", "percentage": "8.00", "description": "IVA 8% región fronteriza",
     "type": "IVA"},
    {"name": "IVA 0%", "percentage": "0.00", "description": "IVA tasa 0", "type": "IVA"},
    {"name": "IVA Exento", "percentage": "0.00", "description": "Exento de IVA",
     "type": "IVA", "exempt": True},
    {"name": "IEPS 8%", "percentage": "8.00", "description": "IEPS 8%", "type": "IEPS"},
    {"name": "IEPS 26.5%", "percentage": "26.50", "description": "IEPS bebidas alcohólicas",
     "type": "IEPS"},
]

# Two ISR 10 % retentions on purpose: real accounts have duplicates (alegra-api.md §5).
RETENTIONS = [
    {"name": "Retención ISR 10%", "percentage": "10.00", "type": "ISR"},
    {"name": "Retención IVA 2/3", "percentage": "10.6667", "type": "IVA"},
    {"name": "Retención ISR RESICO", "percentage": "1.25", "type": "ISR"},
    {"name": "ISR 10% honorarios (duplicada)", "percentage": "10.00", "type": "ISR"},
]

CURRENCIES = [
    {"code": "MXN", "name": "Peso mexicano", "symbol": "$", "exchangeRate": 1, "status": "active"},
    {"code": "USD", "name": "Dólar estadounidense", "symbol": "US$", "exchangeRate": "17.25",
     "status": "active"},
    {"code": "EUR", "name": "Euro", "symbol": "€", "exchangeRate": "18.90", "status": "active"},
]

NUMBER_TEMPLATES = [
    {"name": "Facturas", "prefix": "A", "nextInvoiceNumber": 1, "isDefault": True,
     "isElectronic": True, "documentType": "invoice", "status": "active"},
    {"name": "Facturas no electrónicas", "prefix": "NE", "nextInvoiceNumber": 1,
     "isDefault": False, "isElectronic": False, "documentType": "invoice", "status": "active"},
    {"name": "Notas de crédito", "prefix": "NC", "nextInvoiceNumber": 1, "isDefault": True,
     "isElectronic": True, "documentType": "creditNote", "status": "active"},
    {"name": "Tickets", "prefix": "T", "nextInvoiceNumber": 1, "isDefault": True,
     "isElectronic": True, "documentType": "saleTicket", "status": "active"},
]


# /terms rows are {id, name, days} (alegra-evidence.md §2, SCHEMA).
TERMS = [{"name": "De contado", "days": 0}, {"name": "8 días", "days": 8},
         {"name": "15 días", "days": 15}, {"name": "30 días", "days": 30},
         {"name": "60 días", "days": 60}]

# A half-configured account: company data incomplete, no electronic numbering, only some
# taxes, and a foreign currency without a rate. A bare one: a name and nothing else.
HALF_COMPANY = {**COMPANY, "regime": None,
                "address": {**COMPANY["address"], "zipCode": None}}
HALF_TAXES = [t for t in TAXES if t["name"] in ("IVA", "IVA 0%")]
HALF_RETENTIONS = [RETENTIONS[0]]
HALF_CURRENCIES = [CURRENCIES[0], {**CURRENCIES[1], "exchangeRate": None}]
HALF_TEMPLATES = [t for t in NUMBER_TEMPLATES if not t["isElectronic"]]
BARE_COMPANY = {"id": "1", "name": "Mi empresa", "identification": "", "regime": None,
                "applicationVersion": "mexico", "address": {}, "currency": {"code": "MXN"}}

PROFILES = {
    "full": (COMPANY, TAXES, RETENTIONS, CURRENCIES, NUMBER_TEMPLATES),
    "half": (HALF_COMPANY, HALF_TAXES, HALF_RETENTIONS, HALF_CURRENCIES, HALF_TEMPLATES),
    "bare": (BARE_COMPANY, [], [], [CURRENCIES[0]], []),
}


def seed(store, profile="full"):
    """Load the demo data (or a less configured account) into an empty store."""
    if store.meta("seeded"):
        return
    company, taxes, retentions, currencies, templates = PROFILES[profile]
    store.put("company", company)
    for kind, rows in (("taxes", taxes), ("retentions", retentions),
                       ("currencies", currencies), ("number-templates", templates),
                       ("terms", TERMS if profile == "full" else [])):
        for row in rows:
            store.insert(kind, {**row, "status": row.get("status", "active")})
    store.set_meta("seeded", True)
