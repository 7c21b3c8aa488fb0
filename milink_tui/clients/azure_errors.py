"""Azure failures as one readable line, and the SDK's logging kept off the terminal.

azure-core raises a family of exceptions whose ``str()`` is a multi-line dump (status, headers,
the JSON body). A DBA needs one line with what failed, the ARM error code and the request id
to quote to support — and the full ids kept for "copy diagnostics". Nothing here imports
azure at module level: the mapping reads attributes by name.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("milink.azure")

# causes: what the UI says to do about it
AUTH = "auth"  # sign in again
THROTTLED = "throttled"  # Azure is busy; retry in a moment
SERVER = "server"  # Azure failed; retry
NOT_FOUND = "not_found"
PERMISSION = "permission"
CONFLICT = "conflict"  # refused in the current state (409) — read the message
REQUEST = "request"  # a bad request (400) — a bug or a value to fix
OPERATION = "operation"  # a long-running operation ended Failed
NETWORK = "network"  # could not reach Azure (DNS, proxy, TLS)
CANCELLED = "cancelled"
CONFIG = "config"  # missing settings (client id, secret, ...)

_FIXES = {
    AUTH: "Sign in to Azure again.",
    THROTTLED: "Azure is throttling requests; wait a moment and retry.",
    SERVER: "Azure had an internal error; retry. If it persists, quote the request id to support.",
    PERMISSION: "Your account needs the SQL Managed Instance Contributor role (or the link permissions) "
                "on this managed instance.",
    NETWORK: "Check the network path to Azure (proxy settings, DNS, firewall) and the trusted CA file.",
    CANCELLED: "Start the sign-in again when ready.",
    CONFIG: "Complete the sign-in settings.",
}
_AADSTS = re.compile(r"\b(AADSTS\d{4,})\b")


class AzureError(Exception):
    """One Azure failure: a readable message plus the ARM error code and request ids.

    ``str()`` is a single line for the status bar; :meth:`diagnostics` has the full ids.
    """

    def __init__(self, message: str, code: str | None = None, status: int | None = None,
                 request_id: str | None = None, correlation_id: str | None = None, *,
                 cause: str = REQUEST, fix: str = "", retryable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.correlation_id = correlation_id
        self.cause = cause
        self.fix = fix or _FIXES.get(cause, "")
        self.retryable = retryable
        self.retry_after = retry_after  # seconds Azure asked us to wait (Retry-After), if it said

    def __str__(self) -> str:
        extra = [p for p in (self.code, f"request {self.request_id[:8]}…" if self.request_id else None) if p]
        return f"{self.message} ({', '.join(extra)})" if extra else self.message

    def diagnostics(self) -> str:
        """Every id, for "copy diagnostics" (nothing secret is in here)."""
        lines = [self.message]
        for label, value in (("code", self.code), ("status", self.status), ("request id", self.request_id),
                             ("correlation id", self.correlation_id), ("cause", self.cause)):
            if value not in (None, ""):
                lines.append(f"{label}: {value}")
        return "\n".join(lines)


def _first_line(text: str, limit: int = 200) -> str:
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    line = re.sub(r"^\(\w+\)\s*", "", line)  # azure-core's "(Code) message" prefix
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _entra_detail(raw: str) -> str:
    """'Microsoft Entra ID error '(invalid_client) AADSTS7000215: Invalid client secret provided. Ensure…'
    -> 'Invalid client secret provided' (the AADSTS code is shown separately)."""
    line = _first_line(raw.split("\n", 1)[0], limit=400)
    line = re.sub(r"^[A-Za-z]+Credential\.get_token(_info)? failed: ", "", line)
    line = re.sub(r"^(Authentication failed: |Microsoft Entra ID error ')", "", line)
    line = re.sub(r"^\(\w+\)\s*", "", line)
    line = re.sub(r"^AADSTS\d+:\s*", "", line)
    sentence = re.split(r"(?<=[a-z0-9'\)])\.\s", line, maxsplit=1)[0]
    return _first_line(sentence.rstrip(".'"), limit=160)


def _network(raw: str) -> tuple[str, str]:
    """(' at host:port' or '', a short reason) from aiohttp's 'Cannot connect to host …' text."""
    m = re.search(r"Cannot connect to host (\S+)", raw)
    host = f" at {m.group(1)}" if m else ""
    reason = re.search(r"\[([^\]]+)\]\s*$", _first_line(raw, limit=1000))
    return host, _first_line(reason.group(1) if reason else raw)


def _seconds(value: Any) -> float | None:
    """A Retry-After in seconds (ARM sends whole seconds; an HTTP date is not honoured: None)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds < 3600 else None


def _headers(exc: Any) -> Any:
    response = getattr(exc, "response", None)
    return getattr(response, "headers", None) or {}


def _arm_error(exc: Any) -> tuple[str | None, str | None]:
    """(code, message) from the ARM error body however azure-core parsed (or did not parse) it."""
    err = getattr(exc, "error", None)
    code, message = getattr(err, "code", None), getattr(err, "message", None)
    if not code:
        model = getattr(exc, "model", None)
        detail = getattr(model, "error", None) if model is not None else None
        code = code or getattr(detail, "code", None)
        message = message or getattr(detail, "message", None)
    if not code:
        response = getattr(exc, "response", None)
        try:
            body = json.loads(response.text()) if response is not None else None
        except Exception:  # noqa: BLE001 - a non-JSON body simply has no code
            body = None
        if isinstance(body, dict):
            inner = body.get("error") if isinstance(body.get("error"), dict) else body
            code = inner.get("code") if isinstance(inner.get("code"), str) else None
            message = message or inner.get("message")
    return code, message


def explain(exc: BaseException, action: str = "Azure request", subject: str | None = None) -> AzureError:
    """Map an azure-core / azure-identity / aiohttp exception to an :class:`AzureError`.

    ``action`` names what was attempted ("Create link 'x'"); ``subject`` the resource a 404
    is about ("Link 'x'"). Exceptions that are not Azure's are returned wrapped as REQUEST.
    """
    if isinstance(exc, AzureError):
        return exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    headers = _headers(exc)
    request_id = headers.get("x-ms-request-id") if headers else None
    correlation = headers.get("x-ms-correlation-request-id") if headers else None
    status = getattr(exc, "status_code", None)
    code, message = _arm_error(exc)
    raw = getattr(exc, "message", None) or str(exc)
    text = _first_line(message or raw)

    retry_after = _seconds(headers.get("Retry-After") if headers else None)

    def make(msg: str, cause: str, retryable: bool = False, code_: str | None = code) -> AzureError:
        return AzureError(msg, code_, status, request_id, correlation, cause=cause, retryable=retryable,
                          retry_after=retry_after)

    if "CERTIFICATE_VERIFY_FAILED" in raw or "certificate verify failed" in raw.lower():
        host, _ = _network(raw)
        m = re.search(r"certificate verify failed: ([^(\]\n]+)", raw)
        reason = m.group(1).strip() if m else "certificate verify failed"
        return AzureError(f"Cannot reach Azure{host}: its TLS certificate is not trusted ({reason})", None, None,
                          cause=NETWORK, fix="Pass the CA file that signed it (lab or corporate proxy).")
    if "AuthenticationRequiredError" in names:
        return make("Not signed in to Azure (or the saved sign-in has expired): sign in again", AUTH,
                    code_=None)
    if "CredentialUnavailableError" in names:
        return make(f"Azure sign-in is not available: {_first_line(raw)}", AUTH, code_=None)
    if "ClientAuthenticationError" in names:
        if not (code and status == 401):  # the identity library failed to get a token (no ARM error body)
            m = _AADSTS.search(raw)
            return make(f"Azure sign-in failed: {_entra_detail(raw)}; sign in again", AUTH,
                        code_=m.group(1) if m else code)
        return make(f"Azure rejected the sign-in for {action[:1].lower() + action[1:]}: {text.rstrip('.')}; "
                    "sign in again", AUTH)
    if "ServiceRequestError" in names or "ClientConnectorError" in names or "SSLError" in names:
        host, reason = _network(raw)
        return AzureError(f"Cannot reach Azure{host}: {reason}", None, None, cause=NETWORK, retryable=True)
    if "ServiceResponseError" in names or "ServiceResponseTimeoutError" in names:
        return AzureError(f"Azure did not answer {action[:1].lower() + action[1:]}: {_first_line(raw)}; retry",
                          None, None, request_id, correlation, cause=NETWORK, retryable=True)
    if "HttpResponseError" not in names:
        return AzureError(f"{action} failed: {_first_line(raw) or type(exc).__name__}", None, None, cause=REQUEST)

    if status == 200 or (status and status < 400):  # a long-running operation that ended Failed
        return make(f"{action} failed: {text}", OPERATION)
    if status == 404 and code in (None, "ResourceNotFound", "NotFound") and subject:
        return make(f"{subject} not found", NOT_FOUND)
    if status == 404:
        return make(text or f"{subject or action}: not found", NOT_FOUND)
    if status == 429:
        return make(f"Azure is busy: {action} was throttled; retry in a moment", THROTTLED, True)
    if status and status >= 500:
        return make(f"Azure failed: {action} hit a service error (HTTP {status}); retry", SERVER, True)
    if status == 403:
        return make(f"{action} is not permitted: {text}", PERMISSION)
    if status == 409:
        return make(f"{action} refused: {text}", CONFLICT)
    return make(f"{action} refused: {text}", REQUEST)


# --------------------------------------------------------------------------- logging

_LOGGERS = ("azure", "msal", "msal_extensions")
_handler: logging.Handler | None = None


def route_sdk_logging(path: Path, level: int = logging.WARNING) -> Path:
    """Send azure-core / azure-identity / MSAL logs to ``path`` only.

    The SDK logs tracebacks for non-JSON error bodies and warnings on every failed token
    request; on the terminal they would tear through the TUI.
    """
    global _handler
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    current = getattr(_handler, "baseFilename", None)
    if _handler is not None and current != str(path.resolve()):
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(_handler)
        _handler.close()
        _handler = None
    if _handler is None:
        _handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        if _handler not in logger.handlers:
            logger.addHandler(_handler)
    return path
