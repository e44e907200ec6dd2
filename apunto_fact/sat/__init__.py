"""SAT CFDI 4.0 knowledge: catalogs (small ones as data, large ones as files) and rules."""
