"""Simulated Azure Resource Manager (Microsoft.Sql links, certificates, instances) + a fake Entra authority.

The real azure-mgmt-sql / azure-identity / az clients run against it unmodified over TLS.
Entry point: ``await serve_arm(world, ops, ssl_context)``.
"""

from .server import ArmServer, serve_arm

__all__ = ["ArmServer", "serve_arm"]
