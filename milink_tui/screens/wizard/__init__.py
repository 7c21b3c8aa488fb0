"""The New Managed Instance link wizard: one module per page, in SSMS order."""

from .screen import WizardScreen, flow
from .state import WizardState

__all__ = ["WizardScreen", "WizardState", "flow"]
