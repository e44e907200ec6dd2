"""WSGI entry point: ``waitress-serve --call wsgi:create_app`` or ``wsgi:app``."""
from apunto_fact import create_app

app = create_app()
