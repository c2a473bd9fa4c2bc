"""Errors raised at the store boundary."""


class StoreError(RuntimeError):
    """A store could not be opened, read or written; the message says which store and what to do."""
