"""The api-versions the lab accepts, per resource kind.

Real ARM refuses an api-version a resource provider does not register, and the link's JSON
schema changed between versions (old ``targetDatabase``/``sourceEndpoint`` names before
2023-05-01-preview; ``linkMode`` and updatable ``databases`` from 2025-08-01-preview). The
SDK sends 2025-01-01; az sends the preview versions listed in lab-fidelity.md.
"""

from __future__ import annotations

import re

from .errors import ArmError

SQL_VERSIONS = (
    "2014-04-01", "2015-05-01-preview", "2017-03-01-preview", "2017-10-01-preview",
    "2018-06-01-preview", "2019-06-01-preview", "2020-02-02-preview", "2020-08-01-preview",
    "2020-11-01-preview", "2021-02-01-preview", "2021-05-01-preview", "2021-08-01-preview",
    "2021-11-01-preview", "2021-11-01", "2022-02-01-preview", "2022-05-01-preview",
    "2022-08-01-preview", "2022-11-01-preview", "2023-02-01-preview", "2023-05-01-preview",
    "2023-08-01-preview", "2023-08-01", "2024-05-01-preview", "2024-08-01-preview",
    "2024-11-01-preview", "2025-01-01", "2025-02-01-preview", "2025-08-01-preview",
)
SUBSCRIPTION_VERSIONS = (
    "2014-04-01", "2014-04-01-preview", "2015-01-01", "2016-06-01", "2018-06-01", "2019-06-01",
    "2019-11-01", "2020-01-01", "2021-01-01", "2022-01-01", "2022-09-01", "2022-12-01",
)
RESOURCE_GROUP_VERSIONS = (
    "2014-04-01", "2016-09-01", "2018-05-01", "2019-05-10", "2019-07-01", "2019-10-01",
    "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-09-01", "2023-07-01",
    "2024-03-01", "2024-07-01", "2024-11-01", "2025-01-01", "2025-03-01", "2025-04-01",
)

# first api-version that knows the resource (or action)
SQL_MINIMUM = {
    "managedInstances": "2015-05-01-preview",
    "distributedAvailabilityGroups": "2021-05-01-preview",
    "serverTrustCertificates": "2021-05-01-preview",
    "endpointCertificates": "2021-05-01-preview",
    "databases": "2017-03-01-preview",
    "setRole": "2022-11-01-preview",
    "failover": "2023-08-01-preview",
    "operations": "2014-04-01",
}

NEW_LINK_SCHEMA = "2023-05-01-preview"  # partner*/instance*/databases[] from here on
LINK_MODE = "2025-08-01-preview"  # linkMode + PATCH databases

_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha)?$", re.IGNORECASE)


def key(version: str) -> tuple[str, int]:
    """Sort key: a preview sorts before the GA version of the same date."""
    return (version[:10], 0 if "-" in version[10:] else 1)


def at_least(version: str, minimum: str) -> bool:
    return key(version) >= key(minimum)


def check(version: str | None, kind: str, type_name: str = "") -> str:
    """Validate ``api-version`` for a kind ('sql', 'subscriptions', 'resourcegroups', 'metadata')."""
    if not version:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    if kind == "metadata":
        if not _FORMAT.match(version):
            raise _invalid(version, ())
        return version
    if kind == "sql":
        ok = version in SQL_VERSIONS and at_least(version, SQL_MINIMUM.get(type_name, "2014-04-01"))
        if not ok:
            supported = [v for v in SQL_VERSIONS if at_least(v, SQL_MINIMUM.get(type_name, "2014-04-01"))]
            raise ArmError(400, "NoRegisteredProviderFound",
                           f"No registered resource provider found for location 'westeurope' and API version "
                           f"'{version}' for type '{type_name or 'managedInstances'}'. The supported "
                           f"api-versions are '{', '.join(supported)}'. The supported locations are "
                           "'westeurope, northeurope, eastus, westus2'.")
        return version
    allowed = SUBSCRIPTION_VERSIONS if kind == "subscriptions" else RESOURCE_GROUP_VERSIONS
    if version not in allowed:
        raise _invalid(version, allowed)
    return version


def _invalid(version: str, allowed: tuple[str, ...]) -> ArmError:
    listing = f" The supported versions are '{','.join(allowed)}'." if allowed else ""
    return ArmError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.{listing}")
