"""The simulated SQL Server's T-SQL engine (catalog views, DMVs, DDL, procedures).

``SqlServerBackend`` implements the TDS front end's Backend protocol for one
``world.sql_instances[name]``; ``split_batches`` splits a script on GO lines like sqlcmd.
"""

from .backend import SqlServerBackend
from .context import SqlSession
from .parser import split_batches

__all__ = ["SqlServerBackend", "SqlSession", "split_batches"]
