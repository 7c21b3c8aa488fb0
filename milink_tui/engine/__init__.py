"""The link engine: facts, checks, plans, scripts and the executor. No Textual imports."""
