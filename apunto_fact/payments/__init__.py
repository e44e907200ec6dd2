"""Pagos: payments received on PPD invoices and their complement (REP, Pagos 2.0)."""
