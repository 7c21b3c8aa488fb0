"""One-line sparklines: a string of block characters, drawn as one segment per line.

The built-in Sparkline writes ~2.3 KB/s at 60×1; a single segment via ``render_line`` writes
~0.13 KB/s (style.md §3). ``spark()`` is pure so the detail pane can put charts in text lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

BLOCKS = "▁▂▃▄▅▆▇█"


def spark(values: Sequence[float], width: int, floor: float = 0.0) -> str:
    """The last ``width`` values as block characters scaled to their max (NaN = gap, blank pad left)."""
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    finite = [v for v in tail if not math.isnan(v)]
    top = max([floor, *finite]) if finite else 0.0
    chars = []
    for v in tail:
        if math.isnan(v):
            chars.append(" ")
        elif top <= 0:
            chars.append(BLOCKS[0])
        else:
            chars.append(BLOCKS[min(len(BLOCKS) - 1, int(v / top * (len(BLOCKS) - 1) + 0.5))])
    return " " * (width - len(chars)) + "".join(chars)


class SparkLine(Widget):
    """A one-line sparkline widget; ``set_values`` repaints only when the drawn text changes."""

    DEFAULT_CSS = "SparkLine { height: 1; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._values: list[float] = []
        self._drawn = ""

    def set_values(self, values: Sequence[float]) -> bool:
        self._values = list(values)
        text = spark(self._values, self.size.width)
        if text == self._drawn:
            return False
        self._drawn = text
        self.refresh()
        return True

    def on_resize(self) -> None:
        self._drawn = spark(self._values, self.size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y != 0:
            return Strip.blank(width, self.rich_style)
        text = self._drawn or spark(self._values, width)
        return Strip([Segment(text, self.rich_style)], len(text)).crop_extend(0, width, self.rich_style)
