"""T-SQL built-in functions: implementations (run inside SQLite as user functions) and result types.

The query engine rewrites every T-SQL function call into a call of ``t_<name>`` so that
T-SQL semantics (1-based positions, case-insensitive CHARINDEX/REPLACE under the default CI
collation, DATEDIFF boundary counting, SERVERPROPERTY, certificates...) hold exactly, while
SQLite does the relational work. Functions receive and return SQLite-form values.
"""

from . import scalar, system  # noqa: F401 - importing registers the functions
from .registry import FUNCTIONS, Fn
from .scalar import like_regex
from .system import GLOBALS, server_property, version_string

__all__ = ["FUNCTIONS", "GLOBALS", "Fn", "like_regex", "server_property", "version_string"]
