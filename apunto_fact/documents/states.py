"""The document state machine as data: which status may follow which.

draft ─▶ queued ─▶ stamping ─▶ stamped ─▶ cancel_pending ─▶ cancelled
  ▲  ◀─(edit)─┘       │ └─▶ rejected (editable) ─▶ queued | stamping
  └───────────────────┘ └─▶ unknown ─(read Alegra, every marker)─▶ stamped | rejected | draft
"""
DRAFT, QUEUED, STAMPING, STAMPED = "draft", "queued", "stamping", "stamped"
REJECTED, UNKNOWN, CANCEL_PENDING, CANCELLED = "rejected", "unknown", "cancel_pending", "cancelled"

# from -> the statuses it may become. Anything not listed is refused by transition().
TRANSITIONS = {
    # → stamped: a late CFDI found under an old attempt's marker is adopted, never hidden
    DRAFT: {QUEUED, STAMPING, STAMPED},
    QUEUED: {STAMPING, DRAFT, REJECTED},
    # back to draft/rejected only when nothing reached Alegra (failure before the POST)
    STAMPING: {STAMPED, REJECTED, UNKNOWN, DRAFT},
    REJECTED: {QUEUED, STAMPING, STAMPED},
    # draft again only when Alegra, read under every marker, holds nothing and no attempt
    # can still be in flight
    UNKNOWN: {STAMPED, REJECTED, DRAFT},
    STAMPED: {CANCEL_PENDING},
    CANCEL_PENDING: {CANCELLED, STAMPED},
    CANCELLED: set(),
}
EDITABLE = (DRAFT, REJECTED)
# Someone (a request thread, a worker) is working on it, or Alegra's answer is not known.
IN_PROGRESS = (QUEUED, STAMPING, UNKNOWN, CANCEL_PENDING)
LABELS = {
    DRAFT: "Borrador", QUEUED: "En cola para timbrar", STAMPING: "Timbrando…",
    STAMPED: "Timbrada", REJECTED: "Rechazada", UNKNOWN: "Por verificar",
    CANCEL_PENDING: "En proceso de cancelación", CANCELLED: "Cancelada",
}


def sources(target, only_from=None):
    """The statuses from which target may be reached (optionally narrowed to only_from)."""
    found = {s for s, targets in TRANSITIONS.items() if target in targets}
    return found if only_from is None else found & set(only_from)
