"""Pydantic models for settings, dataset schemas and job configurations."""
