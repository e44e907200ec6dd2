"""What every fiscal document shares: states, the one transition function, stamp attempts.

Invoices use it today; payments (REP) and credit notes plug in by mixing ``StatefulDocument``
into their model (see ``transition``).
"""
from .problems import Problem
from .states import CANCEL_PENDING
from .states import CANCELLED
from .states import DRAFT
from .states import EDITABLE
from .states import LABELS
from .states import QUEUED
from .states import REJECTED
from .states import STAMPED
from .states import STAMPING
from .states import TRANSITIONS
from .states import UNKNOWN
from .models import StampAttempt
from .models import FiscalDocument
from .models import StatefulDocument
from .transition import IllegalTransition
from .transition import problem_values
from .transition import touch
from .transition import transition

__all__ = ["CANCEL_PENDING", "CANCELLED", "DRAFT", "EDITABLE", "LABELS", "QUEUED", "REJECTED",
           "STAMPED", "STAMPING", "TRANSITIONS", "UNKNOWN", "IllegalTransition", "Problem",
           "FiscalDocument", "StampAttempt", "StatefulDocument", "problem_values", "touch", "transition"]
