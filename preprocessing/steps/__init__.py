"""Reversible per-column steps: fit on strings, transform to model columns, inverse back."""
