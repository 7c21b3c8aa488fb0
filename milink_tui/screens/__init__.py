"""Textual screens. Each renders state and dispatches actions; no SQL or Azure calls here."""
