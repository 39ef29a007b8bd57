"""Synthesizers: a base class, one module per model, and one explicit registry."""
