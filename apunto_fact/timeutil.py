"""Time helpers: store UTC, show local time (the business lives in Mexico)."""
from datetime import datetime
from datetime import timezone
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow():
    """Return the current UTC time as a naive datetime (what SQLite stores)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def today():
    """Return today's date where the business is (DISPLAY_TIMEZONE), not the machine's."""
    # A UTC machine is a day ahead of Mexico every evening: dates must not follow it.
    return local(utcnow()).date() if current_app else datetime.now().date()


def local(value):
    """Convert a stored naive-UTC datetime to the display time zone."""
    if value is None:
        return None
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return value.replace(tzinfo=timezone.utc).astimezone(zone)


def fmt(value, pattern="%d/%m/%Y %H:%M"):
    """Format a stored datetime in local time for templates."""
    converted = local(value)
    return converted.strftime(pattern) if converted else ""


def fmt_alegra(value):
    """Show Alegra's "YYYY-MM-DD HH:MM:SS" (already Mexico's time) as dd/mm/yyyy HH:MM."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(str(value).replace("T", " ")[:19]).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return str(value)
