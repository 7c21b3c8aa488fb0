"""A read-only table that repaints only the rows whose cells changed.

Stock ``DataTable.update_cell()`` costs 8–27 KB/s of terminal output for one changing cell
(style.md §3); this table compares each visible row with what it drew and refreshes just the
changed cells of that line. Rows are asked for lazily (``set_keys``): with 500 links only the
few dozen on screen are ever formatted. Columns have priorities: on a narrow terminal the
least important ones are dropped. Scrolling is its own (no scrollbars): the header shows the
position instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import overload

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    align: str = "left"  # left | right
    priority: int = 0  # 0 = always shown; higher = dropped first
    flex: bool = False  # takes the width left over


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]  # one per column, in column order
    level: str = "ok"  # styles the first cell: ok | info | warn | error | unknown
    dim: bool = False  # stale data


class LazyRows(Sequence[Row]):
    """Rows by key, each made only when looked at (the table looks at the visible ones)."""

    def __init__(self, keys: list[str], row_for: Callable[[str], Row]) -> None:
        self.keys = keys
        self.row_for = row_for

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, i: int) -> Row: ...

    @overload
    def __getitem__(self, i: slice) -> list[Row]: ...

    def __getitem__(self, i: int | slice) -> Row | list[Row]:
        if isinstance(i, slice):
            return [self.row_for(k) for k in self.keys[i]]
        return self.row_for(self.keys[i])


def _fit(text: str, width: int, align: str) -> str:
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]
    return text.rjust(width) if align == "right" else text.ljust(width)


class LinkTable(Widget, can_focus=True):
    """Rows of links; ``set_rows`` diff-refreshes; posts ``Highlighted`` when the cursor moves."""

    COMPONENT_CLASSES = {
        "link-table--header", "link-table--cursor", "link-table--ok", "link-table--info",
        "link-table--warn", "link-table--error", "link-table--unknown", "link-table--dim",
    }
    DEFAULT_CSS = """
    LinkTable { height: 1fr; }
    LinkTable > .link-table--header { text-style: bold; background: $panel; }
    LinkTable > .link-table--cursor { background: $accent 40%; }
    LinkTable:focus > .link-table--cursor { background: $accent 70%; }
    LinkTable > .link-table--ok { color: $success; }
    LinkTable > .link-table--info { color: $primary; }
    LinkTable > .link-table--warn { color: $warning; }
    LinkTable > .link-table--error { color: $error; text-style: bold; }
    LinkTable > .link-table--unknown { color: $text-muted; }
    LinkTable > .link-table--dim { color: $text-muted; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
    ]

    class Highlighted(Message):
        """The cursor is now on ``key`` (None when the table is empty)."""

        def __init__(self, table: LinkTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

    def __init__(self, columns: Sequence[Column], *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self.rows: Sequence[Row] = []
        self._keys: list[str] = []
        self._index: dict[str, int] | None = {}  # key -> row number, built on demand
        self.cursor = 0
        self.top = 0  # first row shown
        self.sort_title = ""  # shown in the header, e.g. "lag ▼"
        self.empty_text = "no links"
        self._layout: list[tuple[int, int]] = []  # (column index, width) shown
        self._layout_width = -1
        self._drawn: dict[int, tuple] = {}  # screen line -> what was drawn there
        self._strips: dict[int, Strip] = {}
        self.repaints = 0
        self._last_key: str | None = None

    # ------------------------------------------------------------------ data

    @property
    def cursor_key(self) -> str | None:
        return self._keys[self.cursor] if 0 <= self.cursor < len(self._keys) else None

    @property
    def keys(self) -> list[str]:
        return self._keys

    def _find(self, key: str) -> int | None:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self._keys)}
        return self._index.get(key)

    def set_rows(self, rows: list[Row], keep_key: bool = True) -> int:
        """Replace the rows (already sorted and filtered); return how many lines were repainted."""
        by_key = {r.key: r for r in rows}
        return self.set_keys([r.key for r in rows], by_key.__getitem__, keep_key)

    def set_keys(self, keys: list[str], row_for: Callable[[str], Row], keep_key: bool = True) -> int:
        """Replace the rows by key, in order; ``row_for(key)`` is called only for rows drawn.

        ``row_for`` should return an equal ``Row`` for an unchanged link (the table compares
        what it drew with what it would draw now and repaints only the difference).
        """
        key = self.cursor_key if keep_key else None
        same_keys = keys == self._keys
        self._keys = keys
        if not same_keys:
            self._index = None
        self.rows = LazyRows(keys, row_for)
        if key is not None:
            idx = self._find(key)
            if idx is not None:
                self.cursor = idx
        self.cursor = max(0, min(self.cursor, len(keys) - 1))
        self._scroll_to_cursor()
        changed = self._refresh_changed()
        self._announce()
        return changed

    def select(self, key: str) -> bool:
        idx = self._find(key)
        if idx is None:
            return False
        self.cursor = idx
        self._scroll_to_cursor()
        self._refresh_changed()
        self._announce()
        return True

    def _announce(self) -> None:
        key = self.cursor_key
        if key != self._last_key:
            self._last_key = key
            self.post_message(self.Highlighted(self, key))

    # ------------------------------------------------------------------ geometry

    @property
    def body_height(self) -> int:
        return max(1, self.size.height - 1)

    def _scroll_to_cursor(self) -> None:
        h = self.body_height
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + h:
            self.top = self.cursor - h + 1
        self.top = max(0, min(self.top, max(0, len(self.rows) - h)))

    def _column_layout(self, width: int) -> list[tuple[int, int]]:
        if width == self._layout_width:
            return self._layout
        chosen = sorted(range(len(self.columns)), key=lambda i: (self.columns[i].priority, i))
        shown: list[int] = []
        used = 0
        for i in chosen:
            need = self.columns[i].width + (1 if shown else 0)
            if used + need <= width:
                shown.append(i)
                used += need
        shown.sort()
        spare = width - used
        layout = []
        for i in shown:
            w = self.columns[i].width
            if self.columns[i].flex and spare > 0:
                w, spare = w + spare, 0
            layout.append((i, w))
        self._layout, self._layout_width = layout, width
        self._drawn.clear()
        self._strips.clear()
        return layout

    def on_resize(self, event: events.Resize) -> None:
        self._layout_width = -1
        self._drawn.clear()
        self._strips.clear()
        self._scroll_to_cursor()
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.rows) + 1

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn.clear()
        self._strips.clear()

    # ------------------------------------------------------------------ drawing

    def _line_state(self, y: int) -> tuple:
        if y == 0:
            return ("header", self.sort_title, self.top, len(self.rows), self.size.width)
        i = self.top + y - 1
        if i >= len(self.rows):
            return ("empty", y == 1 and not self.rows)
        return ("row", self.rows[i], i == self.cursor)

    def _refresh_changed(self) -> int:
        if not self.is_mounted or self.size.height == 0:
            return 0
        width = self.size.width
        gutter = self.styles.gutter
        changed = 0
        for y in range(self.size.height):
            state = self._line_state(y)
            old = self._drawn.get(y)
            if old != state:
                changed += 1
                self._strips.pop(y, None)
                x0, x1 = self._changed_cells(old, state, width)
                self.refresh(Region(gutter.left + x0, gutter.top + y, x1 - x0, 1))
        self.repaints += changed
        return changed

    def _changed_cells(self, old: tuple | None, new: tuple, width: int) -> tuple[int, int]:
        """The x span of the cells that differ between two drawn rows (the whole line otherwise)."""
        if (old is None or old[0] != "row" or new[0] != "row" or old[2] != new[2]
                or old[1].key != new[1].key or old[1].level != new[1].level or old[1].dim != new[1].dim):
            return 0, width
        x, lo, hi = 0, None, 0
        for n, (i, w) in enumerate(self._column_layout(width)):
            if n:
                x += 1
            a = old[1].cells[i] if i < len(old[1].cells) else ""
            b = new[1].cells[i] if i < len(new[1].cells) else ""
            if a != b:
                lo = x if lo is None else lo
                hi = x + w
            x += w
        return (0, width) if lo is None else (lo, min(hi, width))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        layout = self._column_layout(width)
        state = self._line_state(y)
        if self._drawn.get(y) == state and y in self._strips:
            return self._strips[y]
        base = self.rich_style
        if state[0] == "header":
            head = self._style("link-table--header")
            parts = [_fit(self.columns[i].title, w, self.columns[i].align) for i, w in layout]
            text = " ".join(parts)
            pos = f" {min(len(self.rows), self.top + 1)}-{min(len(self.rows), self.top + self.body_height)}"
            pos += f"/{len(self.rows)}"
            if self.sort_title:
                pos = f" sort {self.sort_title} ·" + pos
            if len(text) + len(pos) <= width:
                text = text[: width - len(pos)].ljust(width - len(pos)) + pos
            strip = Strip([Segment(text, base + head)]).crop_extend(0, width, base + head)
        elif state[0] == "empty":
            msg = f" {self.empty_text}" if state[1] else ""
            strip = Strip([Segment(msg, base + self._style("link-table--dim"))]).crop_extend(0, width, base)
        else:
            row: Row = state[1]
            style = base + self._style("link-table--dim") if row.dim else base
            if state[2]:
                style = style + self._style("link-table--cursor")
            segs: list[Segment] = []
            for n, (i, w) in enumerate(layout):
                cell = _fit(row.cells[i] if i < len(row.cells) else "", w, self.columns[i].align)
                if n:
                    segs.append(Segment(" ", style))
                cell_style = style
                if n == 0:
                    cell_style = style + self._style(f"link-table--{row.level}")
                    if state[2]:
                        cell_style = cell_style + self._style("link-table--cursor")
                segs.append(Segment(cell, cell_style))
            strip = Strip(segs).crop_extend(0, width, style)
        self._drawn[y] = state
        self._strips[y] = strip
        return strip

    # ------------------------------------------------------------------ moving

    def _move(self, to: int) -> None:
        if not self.rows:
            return
        self.cursor = max(0, min(len(self.rows) - 1, to))
        self._scroll_to_cursor()
        self._refresh_changed()
        self._announce()

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, delta: int) -> None:
        self._move(self.cursor + delta * self.body_height)

    def action_edge(self, end: int) -> None:
        self._move(len(self.rows) - 1 if end else 0)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._move(self.top + event.y - 1)
        self.focus()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._move(self.cursor + 3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._move(self.cursor - 3)
