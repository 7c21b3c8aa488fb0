"""Small line-API widgets that repaint only the lines whose content changed (style.md §3)."""
