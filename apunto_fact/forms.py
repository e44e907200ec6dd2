"""What every form shares: Spanish messages, choice lists and live (HTMX) field checks."""
import json

from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf import FlaskForm
from wtforms import Form
from wtforms import PasswordField
from wtforms import SelectChoice
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError

from .sat import rules


def no_control_characters(multiline):
    """WTForms validator: the one control-character rule (sat.rules) at the field."""
    def check(_form, field):
        message = rules.control_characters(field.data, multiline=multiline)
        if message:
            raise ValidationError(message)
    return check


_ONE_LINE, _MULTI_LINE = no_control_characters(False), no_control_characters(True)


class TextMeta:
    """Form Meta that puts the control-character check on every text field it binds."""

    def bind_field(self, form, unbound_field, options):
        """Bind as usual, then add the check to text inputs (not passwords)."""
        field = super().bind_field(form, unbound_field, options)
        if isinstance(field, StringField) and not isinstance(field, PasswordField):
            field.validators = [*field.validators,
                                _MULTI_LINE if isinstance(field, TextAreaField) else _ONE_LINE]
        return field


class BaseForm(FlaskForm):
    """A FlaskForm whose built-in WTForms messages are in Spanish; text is guarded."""

    class Meta(TextMeta):
        locales = ["es_MX", "es"]


class SubForm(Form):
    """A plain sub-form (FieldList/FormField rows) with the same text guard."""

    class Meta(TextMeta):
        pass


def choices(pairs, placeholder=None):
    """Turn (value, label) pairs or a dict into WTForms choices."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    options = [SelectChoice(str(value), label) for value, label in items]
    return ([SelectChoice("", placeholder)] if placeholder else []) + options


def strip(value):
    """Filter: trim surrounding white space from text input."""
    return value.strip() if isinstance(value, str) else value


def upper(value):
    """Filter: trim and uppercase (RFCs, SAT keys)."""
    return value.strip().upper() if isinstance(value, str) else value


# Every live check of a page waits its turn on one element (templates/base.html): answers
# arrive in the order the checks were made, so an older answer (sent before the user typed
# in another field) never lands after a newer one. Nothing is aborted, nothing dropped, and
# the form's own submit does not wait here.
LIVE_SYNC = "#live-checks:queue all"


class RuleForm(BaseForm):
    """A form checked by a function of sat.rules, re-checked field by field while typing.

    Subclasses set LIVE_ENDPOINT (the view that answers live checks), LIVE_FIELDS
    (trigger field -> fields whose options or value depend on it) and implement
    ``findings()``; ``refresh()`` recomputes choices and hints from the current data.
    """

    LIVE_ENDPOINT = None
    LIVE_FIELDS = {}
    CHECK_ON_CHANGE_ONLY = ()  # text fields that must not be checked while typing
    REQUIRED = ()  # fields the rules always ask for: marked for the person (and for a11y)
    TYPING = "input changed delay:500ms, change"

    def __init__(self, *args, live=True, **kwargs):
        """With live=False (CSV import) the form is only validated, never rendered."""
        super().__init__(*args, **kwargs)
        for field in self:
            field.warnings, field.hint_text = [], None
        for name in self.REQUIRED:
            # The form is novalidate: this only marks the field, the rules still decide.
            self[name].render_kw = {**(self[name].render_kw or {}), "required": True}
        if live:
            self._wire_live()
            self.refresh()

    def _wire_live(self):
        url = url_for(self.LIVE_ENDPOINT)
        for name in self.LIVE_FIELDS:
            field = self[name]
            typed = field.type in ("StringField", "EmailField", "DecimalField", "IntegerField") \
                and name not in self.CHECK_ON_CHANGE_ONLY
            field.render_kw = {
                **(field.render_kw or {}),
                "hx-post": url, "hx-trigger": self.TYPING if typed else "change",
                "hx-include": "closest form", "hx-swap": "none",
                "hx-sync": LIVE_SYNC,
                "hx-vals": json.dumps({"_trigger": name}),
            }

    def refresh(self):
        """Recompute dynamic choices and hints from the current data."""

    def findings(self):
        """Return sat.rules.Findings for the current data."""
        raise NotImplementedError

    def on_change(self, trigger, fix):
        """Adjust values after trigger changed (or a one-click fix); return changed names."""
        return set()

    def validate(self, extra_validators=None):
        """Run the field validators, then the SAT rules; errors land on their fields."""
        for field in self:
            # A field missing from the POST keeps the stored value (obj=), which may be a
            # Decimal or an int: text validators and rules expect the text a person types.
            if field.type in ("StringField", "TextAreaField", "HiddenField") and \
                    field.data is not None and not isinstance(field.data, str):
                field.data = str(field.data)
        valid = super().validate(extra_validators)
        findings = self.findings()
        self._apply(findings, names=None)
        return valid and not any(f.errors for f in self)

    def _apply(self, findings, names):
        for name, message in findings.errors.items():
            if name in self._fields and (names is None or name in names):
                if message not in self[name].errors:
                    self[name].errors = [*self[name].errors, message]
        for name, message in findings.warnings.items():
            if name in self._fields and (names is None or name in names):
                self[name].warnings.append(message)

    def live(self, trigger, fix=None):
        """Re-check after one field changed; return [(name, whole_field)] to re-render.

        An input is replaced whole only when the server changed its value or, for a
        select, its options; otherwise only its feedback is, because the user may be
        typing in it and the request carried what it held a moment ago.
        """
        dependents = [n for n in self.LIVE_FIELDS.get(trigger, []) if n != trigger]
        sent = {name: self[name].data for name in dependents}
        changed = self.on_change(trigger, fix)
        self.refresh()
        for name in dependents:
            mark_sent(self[name], sent[name], name in changed)
        shown = {trigger} | {n for n in dependents if self[n].data not in (None, "")}
        for field in self:
            field.errors = []
        self._apply(self.findings(), names=shown)
        return [(trigger, trigger in changed)] + [
            (n, n in changed or self[n].type in ("SelectField", "RadioField"))
            for n in dependents]


def live_response(form):
    """Answer a live check: out-of-band fragments for the fields the trigger affects."""
    trigger = request.form.get("_trigger")
    if trigger not in form.LIVE_FIELDS:
        abort(400)
    fields = form.live(trigger, request.form.get("_fix"))
    return render_template("_live_fields.html", form=form, fields=fields)


def mark_sent(field, sent, server_set):
    """Tag a select re-rendered by a live check, for static/app.js.

    The check answers with the values sent a moment ago; if the user picked another option
    since, the browser keeps that newer choice, unless the server set the value on purpose.
    """
    if field.type not in ("SelectField", "RadioField"):
        return
    field.render_kw = {**(field.render_kw or {}), "data-sent": sent or ""}
    if server_set:
        field.render_kw["data-server-set"] = "1"
