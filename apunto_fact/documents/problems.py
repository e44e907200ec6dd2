"""Why a document is not where the user wanted it: one code, its Spanish heading, its source."""
from enum import Enum


class Problem(str, Enum):
    """A problem code stored on a document; knows its heading and whether Alegra said it."""

    def __new__(cls, value, heading, from_alegra):
        member = str.__new__(cls, value)
        member._value_ = value
        member.heading = heading
        member.from_alegra = from_alegra
        return member

    ALEGRA = ("alegra", "Alegra respondió", True)
    SAT = ("sat", "El SAT rechazó la factura (Alegra lo informó)", True)
    RATE_LIMITED = ("rate", "Alegra pidió esperar", True)
    TIMEOUT = ("timeout", "Sin respuesta de Alegra", False)
    CONNECTION = ("connection", "Sin conexión con Alegra", False)
    CONFIGURATION = ("configuracion", "Falta configurar algo", False)
    INTERNAL = ("interno", "Error de esta aplicación", False)
    NOT_CREATED = ("no-creada", "Alegra no la registró", False)
    IN_FLIGHT = ("en-camino", "Aún sin confirmar", False)
    CANCEL_REFUSED = ("cancelacion-rechazada", "La cancelación no procedió", True)
    STALE = ("desactualizada", "La factura cambió en otra ventana", False)
    DUPLICATE = ("duplicada", "Alegra tiene dos CFDI para esta factura", True)
    QUEUE = ("cola", "No se pudo poner en la cola de timbrado", False)
    TOTALS_DIFFER = ("totales-distintos", "El total de Alegra no coincide", True)

    @classmethod
    def of(cls, value):
        """The member for a stored value (None for None or an unknown legacy value)."""
        try:
            return cls(value) if value else None
        except ValueError:
            return None
