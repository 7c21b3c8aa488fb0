"""Toggle controls whose state shows as a glyph, not only as a colour (X / blank, ● / blank)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class Tick(Checkbox):
    """A checkbox drawn ▐X▌ when on and ▐ ▌ when off."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button


class Choice(RadioButton):
    """A radio button drawn ▐●▌ when chosen and ▐ ▌ otherwise."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "●" if self.value else " "
        return super()._button
