"""The simulated SQL Server's T-SQL engine (catalog views, DMVs, DDL, procedures).

``SqlServerBackend`` implements the TDS front end's Backend protocol for one
``world.sql_instances[name]``; ``ManagedInstanceBackend`` serves a managed instance's T-SQL side; ``split_batches`` splits a script on GO lines like sqlcmd.
"""

from .backend import SqlServerBackend
from .context import SqlSession
from .managed import ManagedInstanceBackend, ManagedSqlInstance, managed_backend
from .parser import split_batches

__all__ = ["ManagedInstanceBackend", "ManagedSqlInstance", "SqlServerBackend", "SqlSession", "managed_backend",
           "split_batches"]
