"""Audits: the function library (registered on import) and the record of their results."""

from sparkplate.audits import functions as _functions  # noqa: F401  (registers the library)
from sparkplate.audits.base import AUDIT_FUNCTIONS, AuditContext, Outcome

__all__ = ["AUDIT_FUNCTIONS", "AuditContext", "Outcome"]
