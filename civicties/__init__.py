"""Civic Ties: measure the relationships that give parents power in their communities."""
__version__ = "0.1.0"
