"""A block of text lines that repaints only the lines that changed.

``Static.update()`` repaints the whole widget even when the text is the same; this widget
compares line by line and refreshes just the changed lines, so a dashboard where one value
changes writes a few dozen bytes to the terminal, not the whole panel.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


def text_strip(text: Text, widget: Widget, width: int) -> Strip:
    """One Rich Text line as a Strip exactly ``width`` cells wide, on the widget's style.

    Few segments on purpose: each carries its own colour codes, and a partial repaint (Textual
    8.2) rewrites a line from the widget's left edge to the last changed cell — so what changes
    often belongs at the left of a line (see the dashboard's top bar).
    """
    base = widget.rich_style
    console = widget.app.console
    segments = list(text.render(console, end=""))
    strip = Strip(Segment.apply_style(segments, base), text.cell_len) if segments else Strip([], 0)
    return strip.crop_extend(0, width, base)


def changed_span(a: Text, b: Text, width: int) -> tuple[int, int]:
    """Cells [x0, x1) that differ between two lines: only those are repainted.

    When only the text changed (same styles, same length, one cell per character) the span is
    the differing middle, so "lag 41 s" -> "lag 42 s" repaints one cell, not the whole line.
    """
    pa, pb = a.plain, b.plain
    if (a.spans != b.spans or a.style != b.style or len(pa) != len(pb) or a.cell_len != len(pa)
            or b.cell_len != len(pb)):
        return 0, width
    lo = 0
    n = len(pa)
    while lo < n and pa[lo] == pb[lo]:
        lo += 1
    hi = n
    while hi > lo and pa[hi - 1] == pb[hi - 1]:
        hi -= 1
    return min(lo, width), min(max(hi, lo + 1), width)


class LinesView(Widget):
    """``set_lines([...])`` with Rich Text (or str) lines; unchanged lines are never repainted."""

    DEFAULT_CSS = "LinesView { height: auto; }"

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[Text] = []
        self._cache: dict[int, Strip] = {}
        self._cache_width = -1
        self.repaints = 0  # lines refreshed (tests and the bench read it)

    @property
    def lines(self) -> list[Text]:
        return self._lines

    @property
    def plain(self) -> str:
        return "\n".join(t.plain for t in self._lines)

    def set_lines(self, lines: list[Text | str]) -> int:
        """Replace the content; return how many lines were refreshed."""
        new = [t if isinstance(t, Text) else Text(t) for t in lines]
        old = self._lines
        if len(new) != len(old):
            self._lines = new
            self._cache.clear()
            self.refresh(layout=True)
            self.repaints += len(new)
            return len(new)
        changed = 0
        width = max(1, self.size.width)
        gutter = self.styles.gutter
        for y, (a, b) in enumerate(zip(old, new, strict=True)):
            if a.plain != b.plain or a.spans != b.spans or a.style != b.style:
                changed += 1
                self._cache.pop(y, None)
                if self.is_mounted:
                    x0, x1 = changed_span(a, b, width)
                    # dirty regions are relative to the widget's outer box: shift by border + padding
                    self.refresh(Region(gutter.left + x0, gutter.top + y, x1 - x0, 1))
        self._lines = new
        self.repaints += changed
        return changed

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max((t.cell_len for t in self._lines), default=0)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._cache_width:
            self._cache.clear()
            self._cache_width = width
        strip = self._cache.get(y)
        if strip is None:
            if 0 <= y < len(self._lines):
                strip = text_strip(self._lines[y], self, width)
            else:
                strip = Strip.blank(width, self.rich_style)
            self._cache[y] = strip
        return strip
