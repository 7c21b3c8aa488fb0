"""Clients for SQL Server and Azure behind small interfaces; heavy imports stay inside functions."""
