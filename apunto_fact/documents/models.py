"""The columns every stateful document has, and the history of its stamp attempts."""
import json

from sqlalchemy import event
from sqlalchemy.orm import declared_attr

from ..dbtypes import Money
from ..extensions import db
from ..timeutil import utcnow
from .problems import Problem
from .states import DRAFT
from .states import EDITABLE
from .states import LABELS


class StatefulDocument:
    """Mixin: status, version and the current problem of a document.

    ``status`` and ``version`` are written only by ``documents.transition``/``touch``.
    A model sets ``DOCUMENT_TYPE`` (the key of its stamp attempts).
    """

    DOCUMENT_TYPE = None

    @declared_attr
    def status(cls):  # noqa: N805 - declared_attr takes the class
        return db.Column(db.String(20), nullable=False, default=DRAFT)

    @declared_attr
    def version(cls):  # noqa: N805
        return db.Column(db.Integer, nullable=False, default=1, server_default="1")

    @declared_attr
    def problem_code(cls):  # noqa: N805
        return db.Column(db.String(40))

    @declared_attr
    def problem_ref(cls):  # noqa: N805 - the SAT/Alegra code as they wrote it: CFDI40145, 2006
        return db.Column(db.String(40))

    @declared_attr
    def problem_message(cls):  # noqa: N805
        return db.Column(db.Text)

    @declared_attr
    def problem_field(cls):  # noqa: N805
        return db.Column(db.String(40))

    @property
    def status_label(self):
        """The state in Spanish."""
        return LABELS.get(self.status, self.status)

    @property
    def editable(self):
        """Drafts and rejected documents can change; nothing else can."""
        return self.status in EDITABLE

    @property
    def problem(self):
        """The Problem member of problem_code (None when there is none)."""
        return Problem.of(self.problem_code)

    def attempts(self):
        """Every stamp attempt of this document, oldest first."""
        return StampAttempt.of(self)


class FiscalDocument(StatefulDocument):
    """Mixin: what Alegra and the SAT gave a stamped document, its cancellation and files."""

    alegra_id = db.Column(db.String(40), index=True)
    serie = db.Column(db.String(25))
    folio = db.Column(db.String(40))
    uuid = db.Column(db.String(36), unique=True)
    stamped_at = db.Column(db.String(30))
    cancel_motive = db.Column(db.String(2))
    cancel_replacement_uuid = db.Column(db.String(36))
    cancel_requested_at = db.Column(db.DateTime)
    cancelled_at = db.Column(db.DateTime)
    xml_path = db.Column(db.String(300))
    pdf_path = db.Column(db.String(300))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class StampAttempt(db.Model):
    """One try at stamping a document: its marker stays searchable forever."""

    __tablename__ = "stamp_attempts"
    __table_args__ = (db.Index("ix_stamp_attempts_document", "document_type", "document_id"),)

    id = db.Column(db.Integer, primary_key=True)
    document_type = db.Column(db.String(30), nullable=False)
    document_id = db.Column(db.Integer, nullable=False)
    # The document version that won the claim: the payload is built from exactly this.
    version = db.Column(db.Integer, nullable=False)
    # Sent in Alegra's observations; how an answer lost in transit is found by reading.
    marker = db.Column(db.String(40), nullable=False, unique=True)
    # How to list the candidates in Alegra (e.g. client id and date), as JSON.
    lookup = db.Column(db.Text)
    # Process that sends the POST (see documents.owner): tells dead from in flight.
    owner = db.Column(db.String(200))
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    posted_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    # None while open; stamped | rejected | not_sent | not_found | duplicate | unknown
    outcome = db.Column(db.String(20))
    alegra_id = db.Column(db.String(40))
    uuid = db.Column(db.String(36))
    total = db.Column(Money)
    # For an extra CFDI (outcome duplicate): when its cancellation was asked and how it ended.
    void_status = db.Column(db.String(20))

    @classmethod
    def of(cls, document):
        """The attempts of a document, oldest first."""
        return db.session.query(cls).filter_by(
            document_type=document.DOCUMENT_TYPE, document_id=document.id).order_by(cls.id).all()

    @classmethod
    def open_for(cls, document, marker, version, lookup=None, owner=None):
        """Add (not commit) a new attempt for document."""
        attempt = cls(document_type=document.DOCUMENT_TYPE, document_id=document.id,
                      version=version, marker=marker, owner=owner, started_at=utcnow(),
                      lookup=json.dumps(lookup, sort_keys=True) if lookup else None)
        db.session.add(attempt)
        return attempt

    @property
    def lookup_params(self):
        """The stored lookup as a dict."""
        return json.loads(self.lookup) if self.lookup else {}

    @lookup_params.setter
    def lookup_params(self, params):
        self.lookup = json.dumps(params, sort_keys=True) if params else None


def _refuse_direct_write(target, value, oldvalue, _initiator):
    # Loading and the transition's own UPDATE never fire this; only `doc.status = ...` does.
    raise AttributeError("status and version change only through documents.transition()")


@event.listens_for(StatefulDocument, "mapper_configured", propagate=True)
def _guard_columns(_mapper, cls):
    """Make a direct assignment to status/version of any document an error, at once."""
    for name in ("status", "version"):
        event.listen(getattr(cls, name), "set", _refuse_direct_write)
