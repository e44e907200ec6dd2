"""What every form shares: Spanish built-in messages and choice lists."""
from flask_wtf import FlaskForm
from wtforms import SelectChoice


class BaseForm(FlaskForm):
    """A FlaskForm whose built-in WTForms messages are in Spanish."""

    class Meta:
        locales = ["es_MX", "es"]


def choices(pairs):
    """Turn (value, label) pairs or a dict into WTForms choices."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(str(value), label) for value, label in items]


def strip(value):
    """Filter: trim surrounding white space from text input."""
    return value.strip() if isinstance(value, str) else value
