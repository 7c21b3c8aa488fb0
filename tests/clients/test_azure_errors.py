"""Mapping azure-core / azure-identity exceptions that the lab cannot easily provoke."""

from __future__ import annotations

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.identity import AuthenticationRequiredError, CredentialUnavailableError

from milink_tui.clients.azure_errors import AzureError, explain


def test_identity_failures() -> None:
    err = explain(AuthenticationRequiredError(["https://management.azure.com/.default"]))
    assert err.cause == "auth" and "sign in again" in str(err) and err.fix == "Sign in to Azure again."
    err = explain(CredentialUnavailableError("Azure CLI not found on path"))
    assert str(err) == "Azure sign-in is not available: Azure CLI not found on path"


def test_network_failures_are_retryable() -> None:
    err = explain(ServiceRequestError("Cannot connect to host management.azure.com:443 ssl:default "
                                      "[Name or service not known]"), "List subscriptions")
    assert str(err) == "Cannot reach Azure at management.azure.com:443: Name or service not known"
    assert err.cause == "network" and err.retryable
    err = explain(ServiceResponseError("Connection reset by peer"), "Read link 'x' on mi")
    assert str(err) == "Azure did not answer read link 'x' on mi: Connection reset by peer; retry"


def test_other_exceptions_and_idempotence() -> None:
    err = explain(RuntimeError("boom"), "Create link 'x'")
    assert str(err) == "Create link 'x' failed: boom"
    assert explain(err) is err
    plain = AzureError("Something", cause="config")
    assert str(plain) == "Something" and plain.diagnostics() == "Something\ncause: config"
