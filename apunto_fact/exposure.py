"""Serving beyond this computer: warn, and refuse while the first-run page is open to anyone."""
import ipaddress

import click

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host):
    """True when host only accepts connections from this computer."""
    name = (host or "").strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a name or 0.0.0.0/:: is reachable from the network


def check(host, port, allow_network):
    """Warn about a non-loopback host; refuse (ClickException) until an owner exists."""
    if is_loopback(host):
        return
    from .auth.service import has_users

    click.echo(
        f"Aviso: apunto-fact quedará abierto a otras computadoras de la red en "
        f"http://{host}:{port}. La conexión no va cifrada (no hay HTTPS): úsalo solo en una "
        "red de confianza, nunca en una red pública.", err=True)
    if not has_users() and not allow_network:
        raise click.ClickException(
            "Todavía no existe la cuenta del dueño, y la página de primer uso quedaría abierta "
            "a quien llegue primero desde la red. Créala antes en esta computadora "
            "(flask serve, sin --host) o con «flask create-user NOMBRE», o inicia con "
            "--allow-network si sabes lo que haces.")
