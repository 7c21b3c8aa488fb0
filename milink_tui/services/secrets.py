"""Where passwords live: the system keyring when one answers, else memory for this session only.

Over SSH there is usually no Secret Service on D-Bus, and ``keyring`` falls back to its ``fail``
backend (``NoKeyringError``). milink probes once, read-only, and then says plainly where a
remembered password goes. Nothing here ever writes a secret to a file or a log; ``repr`` of the
store shows key names only.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("milink.secrets")

SERVICE = "milink"
KEYRING_NOTICE = "Remembered passwords go to the system keyring ({backend})."
MEMORY_NOTICE = ("No system keyring here (usual over SSH): passwords stay in memory for this session only "
                 "and are asked again next time.")


class SecretStore:
    """Passwords by key (e.g. ``sql:server,port:login``). Thread-safe; the keyring probe is lazy."""

    def __init__(self, use_keyring: bool | None = None) -> None:
        if use_keyring is None:
            use_keyring = os.environ.get("MILINK_KEYRING", "auto").lower() not in ("off", "0", "no", "memory")
        self._want_keyring = use_keyring
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        self._backend: str | None = None  # keyring backend name, or "" for memory only
        self._keyring = None

    def __repr__(self) -> str:
        return f"SecretStore(backend={self._backend!r}, keys={sorted(self._memory)})"

    def probe(self) -> str:
        """The keyring backend's name, or "" when only memory is available. Read-only, cached."""
        if self._backend is not None:
            return self._backend
        backend = ""
        if self._want_keyring:
            try:
                import keyring
                from keyring.backends import fail

                kr = keyring.get_keyring()
                if not isinstance(kr, fail.Keyring) and getattr(kr, "priority", 0) > 0:
                    kr.get_password(SERVICE, "__probe__")  # raises when the backend cannot work here
                    backend = type(kr).__name__
                    self._keyring = kr
            except Exception as e:  # NoKeyringError, D-Bus errors, locked collections…
                log.info("no usable keyring: %s", type(e).__name__)
                backend = ""
        self._backend = backend
        return backend

    @property
    def has_keyring(self) -> bool:
        return bool(self.probe())

    @property
    def notice(self) -> str:
        """One sentence for the UI: where a remembered password will go."""
        backend = self.probe()
        return KEYRING_NOTICE.format(backend=backend) if backend else MEMORY_NOTICE

    def set(self, key: str, value: str, remember: bool = False) -> str:
        """Keep ``value`` for this session; with ``remember`` also in the keyring when one works.
        Returns where it went: "keyring" or "memory"."""
        with self._lock:
            self._memory[key] = value
        if remember and self.probe() and self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, key, value)
                return "keyring"
            except Exception as e:
                log.info("keyring refused the password: %s", type(e).__name__)
        return "memory"

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._memory.get(key)
        if value is not None:
            return value
        if self._backend and self._keyring is not None:
            try:
                value = self._keyring.get_password(SERVICE, key)
            except Exception:
                value = None
            if value is not None:
                with self._lock:
                    self._memory[key] = value
        return value

    def forget(self, key: str) -> None:
        with self._lock:
            self._memory.pop(key, None)
        if self._backend and self._keyring is not None:
            try:
                self._keyring.delete_password(SERVICE, key)
            except Exception:
                pass

    def clear_memory(self) -> None:
        """Drop every in-memory secret (on exit)."""
        with self._lock:
            self._memory.clear()
