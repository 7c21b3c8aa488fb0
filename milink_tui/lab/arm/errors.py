"""ARM error bodies with the codes and messages the real service uses.

The app maps error codes to causes and fixes, so the lab must answer with the same codes
(and, where documented, the same message text) as Azure Resource Manager and Microsoft.Sql.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..hooks import LabError

LINK_TYPE = "Microsoft.Sql/managedInstances/distributedAvailabilityGroups"
TRUST_CERT_TYPE = "Microsoft.Sql/managedInstances/serverTrustCertificates"
ENDPOINT_CERT_TYPE = "Microsoft.Sql/managedInstances/endpointCertificates"
MI_TYPE = "Microsoft.Sql/managedInstances"


class ArmError(Exception):
    """An ARM error response: HTTP status + ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            err["details"] = self.details
        return {"error": err}

    def response(self) -> web.Response:
        return web.Response(status=self.status, text=json.dumps(self.body()),
                            content_type="application/json", headers=self.headers)


def from_lab_error(exc: LabError) -> ArmError:
    """A refusal raised by the replication engine through a LinkOps hook."""
    return ArmError(exc.status or 409, exc.code or "DistributedAvailabilityGroupSetRoleFailed", exc.text)


def resource_not_found(resource_type: str, name: str) -> ArmError:
    """Microsoft.Sql's 404 for a missing child resource (text from the service's error catalog)."""
    return ArmError(404, "ResourceNotFound",
                    f"The requested resource of type '{resource_type}' with name '{name}' was not found.")


def mi_not_found(name: str, resource_group: str) -> ArmError:
    """ARM's own 404 for a missing tracked resource."""
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{MI_TYPE}/{name}' under resource group '{resource_group}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def parent_not_found(name: str) -> ArmError:
    return ArmError(404, "ParentResourceNotFound",
                    f"Can not perform requested operation on nested resource. Parent resource '{name}' not found.")


def resource_group_not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def subscription_not_found(sub: str) -> ArmError:
    return ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")


def invalid_parameter(name: str) -> ArmError:
    """Microsoft.Sql's generic validation error (its real message text)."""
    return ArmError(400, "InvalidParameterValue",
                    f"Invalid value given for parameter {name}. Specify a valid parameter value.")


def invalid_content(detail: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent",
                    f"The request content was invalid and could not be deserialized: '{detail}'.")


# Messages for error codes a scenario may inject into an LRO (faults.fail_next_lro); anything else
# gets a generic text. The codes are the Microsoft.Sql error catalog's (domain.md §5.2). UNVERIFIED:
# the catalog gives meanings only, so every text except SecondariesNotSynchronizing's is the lab's.
LRO_MESSAGES = {
    "DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing":
        "Planned failover cannot be executed if secondaries are not synchronizing.",
    "DistributedAvailabilityGroupFailoverLogSendQueueSizeTooBig":
        "Planned failover cannot be executed because the log send queue size is too big.",
    "DistributedAvailabilityGroupFailoverRedoQueueSizeTooBig":
        "Planned failover cannot be executed because the redo queue size on the secondary is too big.",
    "DistributedAvailabilityGroupSetRoleFailed":
        "Set role operation failed with an unknown error. Check the error log for details.",
    "OperationCanNotStartDueToMiLink":
        "The operation could not be started because a database is being created through a "
        "Managed Instance link.",
    "OperationTimedOut": "The operation timed out and automatically rolled back. Please retry the operation.",
    "InternalServerError": "An unexpected error occured while processing the request.",
}


def lro_message(code: str) -> str:
    return LRO_MESSAGES.get(code, f"The operation failed with error code '{code}'.")
