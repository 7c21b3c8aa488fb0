"""The lab: a simulated SQL Server and Azure Resource Manager, run in its own process.

Nothing here imports from the engine, the clients or the UI: shared code would make tests
agree by construction. The app only ever *launches* the lab (``milink lab serve``).
"""
