"""The one way a document's status changes: a guarded conditional UPDATE that bumps version."""
from sqlalchemy import update

from ..extensions import db
from ..timeutil import utcnow
from .states import EDITABLE
from .states import TRANSITIONS
from .states import sources


class IllegalTransition(ValueError):
    """A transition the state table does not allow was asked for (a programming error)."""


def transition(document, to, *, version=None, only_from=None, commit=True, **values):
    """Move document to status ``to`` if the state table allows it; return True if we won.

    One ``UPDATE … WHERE id=? AND status IN (allowed sources) [AND version=?]`` that also
    sets ``version = version + 1`` and ``values`` (other columns of the same model): of two
    racing callers exactly one wins. ``only_from`` narrows the allowed sources; ``version``
    refuses a caller that saw an older state. With commit=False the caller commits (to add
    rows in the same transaction); a loss always rolls back. The document is reloaded.
    """
    if to not in TRANSITIONS:
        raise IllegalTransition(f"unknown status {to!r}")
    allowed = sources(to, only_from)
    if not allowed:
        raise IllegalTransition(f"nothing may move to {to!r} from {only_from!r}")
    return _guarded(document, allowed, version, commit, status=to, **values)


def touch(document, version, *, states=EDITABLE, commit=False, **values):
    """Bump version without changing status (an edit); True if document was still at version.

    Call it BEFORE changing anything else of the document in the session: the row lock it
    takes (the database's write lock on SQLite) is what makes the edit and a stamp claim
    exclusive. With the default commit=False the caller writes the edit and commits.
    """
    return _guarded(document, states, version, commit, **values)


def _guarded(document, states, version, commit, **values):
    model = type(document)
    where = [model.id == document.id, model.status.in_(sorted(states))]
    if version is not None:
        where.append(model.version == int(version))
    if hasattr(model, "updated_at"):
        values.setdefault("updated_at", utcnow())
    result = db.session.execute(
        update(model).where(*where).values(version=model.version + 1, **values)
        .execution_options(synchronize_session=False))
    won = result.rowcount == 1
    if not won:
        db.session.rollback()
    elif commit:
        db.session.commit()
    if won and not commit:
        db.session.expire(document, ["status", "version", *values])
    else:
        db.session.refresh(document)
    return won


def problem_values(problem=None, message=None, field=None, ref=None):
    """Column values that set (or, with no arguments, clear) the document's problem."""
    return {"problem_code": problem.value if problem is not None else None,
            "problem_message": message, "problem_field": field, "problem_ref": ref}
