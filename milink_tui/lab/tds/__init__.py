"""A TDS 7.4 server (asyncio, standard library + ssl) that real SQL Server clients accept."""

from .server import TdsServer, serve_tds

__all__ = ["TdsServer", "serve_tds"]
