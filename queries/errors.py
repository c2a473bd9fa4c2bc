"""Exceptions raised by ``queries/`` for invalid input.

Undefined results (an isolate's constraint, E-I of a network with no usable
ties) are *not* errors: they come back as NaN or None. ``QueryError`` is for
input a caller must fix: a wrong graph type, an unknown option, a bad count.
"""

__all__ = ["QueryError"]


class QueryError(ValueError):
    """A query was called with input it cannot work with; the message says how to fix it."""
