"""Long-lived helpers the app and the tests share (no Textual imports)."""
