"""A TDS 7.4 server (asyncio, standard library + ssl) that real SQL Server clients accept."""
