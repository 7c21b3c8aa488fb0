"""The asyncio TDS 7.4 server: one task per connection, a concurrent reader for ATTENTION.

Flow per connection: PRELOGIN (optionally TLS wrapped in PRELOGIN packets, or TLS first for
TDS 8) -> LOGIN7 -> requests. After login a reader task keeps reading so an ATTENTION can
cancel a long ``backend.execute`` while it runs; requests are answered one at a time, each
reply built in memory and written as one message so a cancel never leaves half a message.

Besides the ``Backend`` protocol, optional backend methods are used when present:
``describe_parameters(session, sql, names) -> dict[name, SqlType]`` refines the answer to
``sp_describe_undeclared_parameters`` (default: every parameter is nvarchar(4000));
``login_federated(principal, database, app_name) -> Session`` admits a Microsoft Entra
principal whose token the ``fedauth`` verifier given to :func:`serve_tds` accepted.
Output parameters come back with the value they were sent with: the backend has no way to set them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import tokens as tk
from .backend import (
    Backend,
    DropConnection,
    Message,
    Outcome,
    Param,
    ResultSet,
    ReturnStatus,
    RowCount,
    Session,
    SqlError,
    SqlType,
)
from .catalog import datatype_info, describe_parameters, match_datatype_info_batch, undeclared_names
from .channel import Channel
from .datatypes import EncodeError
from .login import (
    ENCRYPT_ON,
    FEATURE_FEDAUTH,
    FEDAUTH_SECURITY_TOKEN,
    PL_FEDAUTHREQUIRED,
    Login7,
    build_prelogin_reply,
    choose_encryption,
    parse_fedauth,
    parse_login7,
    parse_prelogin,
)
from .packets import (
    ATTENTION,
    DEFAULT_PACKET_SIZE,
    LOGIN7,
    MIN_PACKET,
    PRELOGIN,
    REPLY,
    RPC,
    SQL_BATCH,
    STATUS_RESETCONNECTION,
    STATUS_RESETCONNECTIONSKIPTRAN,
    TRANSACTION_MANAGER,
    ConnectionClosed,
    ProtocolError,
    Reader,
    Request,
    skip_all_headers,
)
from .rpc import RpcCall, RpcParam, normalise_proc_name, parse_rpc, parse_type, split_declarations

logger = logging.getLogger("milink.lab.tds")

SERVER_PACKET_SIZE = 4096  # what we answer when LOGIN7 says 0 ("server decides")
MAX_NEGOTIATED_PACKET = 32767
TM_BEGIN, TM_COMMIT, TM_ROLLBACK = 5, 7, 8
INTERNAL_ERROR = 50000
LOGIN_TIMEOUT = 30  # seconds from accept to LOGINACK; a silent or half-sent client is dropped
# Measured with Driver 18, FreeTDS and python-tds: a COLMETADATA(no columns) before ERROR changes
# nothing for the ODBC drivers (they raise on execute either way) but makes python-tds treat the
# statement as a result set and swallow the error. Kept as a switch for experiments.
EMPTY_COLMETADATA_BEFORE_ERROR = False
# What SQL Server names a principal it could not identify from a token (Azure SQL's own wording).
TOKEN_PRINCIPAL = "<token-identified principal>"

FedAuthVerifier = Callable[[str], str]
"""Checks a Microsoft Entra access token; returns the principal's name or raises SqlError(18456)."""


@dataclass
class _Prepared:
    sql: str  # statement text, or the procedure name for sp_prepexecrpc
    declarations: str
    procedure: bool = False


@dataclass
class _Closed:
    """Queue item: the reader stopped (EOF or error)."""

    error: BaseException


class TdsServer:
    """A running TDS listener; ``close()`` cancels connection tasks first, then stops listening."""

    def __init__(self, server: asyncio.Server, connections: set[asyncio.Task[None]]) -> None:
        self._server = server
        self._connections = connections

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def close(self) -> None:
        self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()


def prepare_ssl_context(ctx: ssl.SSLContext) -> ssl.SSLContext:
    """Cap TLS at 1.2 (ODBC Driver 18 fails after a TLS 1.3 handshake inside PRELOGIN), offer
    ALPN tds/8.0 for strict clients, and avoid tickets/renegotiation the wrapped handshake can't carry."""
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_TICKET
    if hasattr(ssl, "OP_NO_RENEGOTIATION"):
        ctx.options |= ssl.OP_NO_RENEGOTIATION
    with contextlib.suppress(NotImplementedError):
        ctx.set_alpn_protocols(["tds/8.0"])
    return ctx


async def serve_tds(backend: Backend, host: str = "127.0.0.1", port: int = 0,
                    ssl_context: ssl.SSLContext | None = None,
                    log: logging.Logger = logger, fedauth: FedAuthVerifier | None = None) -> TdsServer:
    """Listen for TDS clients and answer them from ``backend``.

    ``ssl_context`` (server side, certificate loaded) enables encryption; it is adjusted in
    place by :func:`prepare_ssl_context`. Without it every client is told NOT_SUP.
    ``fedauth`` enables Microsoft Entra logins (access token in LOGIN7's FEDAUTH feature);
    without it they fail with 18456 like a server with no Entra admin.
    """
    if ssl_context is not None:
        prepare_ssl_context(ssl_context)
    connections: set[asyncio.Task[None]] = set()
    spids = itertools.count(51)

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await _Connection(backend, reader, writer, ssl_context, log, next(spids), fedauth).run()
        except asyncio.CancelledError:
            pass  # close() cancelled us: end quietly (asyncio would log a cancelled client task)
        finally:
            connections.discard(task)

    server = await asyncio.start_server(on_client, host, port)
    log.info("TDS server listening on %s:%d (TLS %s)", host, server.sockets[0].getsockname()[1],
             "on" if ssl_context else "off")
    return TdsServer(server, connections)


class _Connection:
    def __init__(self, backend: Backend, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 ssl_context: ssl.SSLContext | None, log: logging.Logger, spid: int,
                 fedauth: FedAuthVerifier | None = None) -> None:
        self.backend = backend
        self.fedauth = fedauth
        self.fedauth_required = False  # what our PRELOGIN answered (LOGIN7 must echo it)
        self.channel = Channel(reader, writer, spid)
        self.ssl_context = ssl_context
        self.log = log
        self.peer = writer.get_extra_info("peername")
        self.session: Session | None = None
        self.login_database = "master"
        self.prepared: dict[int, _Prepared] = {}
        self.next_handle = 1
        self.transaction = 0  # descriptor of the open TM transaction (0 = none)
        self.request_transaction = 0  # descriptor the client sent in the last ALL_HEADERS
        self.queue: asyncio.Queue[Request | _Closed] = asyncio.Queue()
        self.current: asyncio.Task[None] | None = None

    @property
    def server_name(self) -> str:
        return getattr(self.backend, "server_name", "") or ""

    # ---- lifecycle ---------------------------------------------------------------------
    async def run(self) -> None:
        try:
            if await asyncio.wait_for(self._handshake(), LOGIN_TIMEOUT):
                await self._serve()
        except ConnectionClosed:
            self.log.debug("TDS client %s disconnected", self.peer)
        except ProtocolError as exc:
            self.log.warning("closing TDS connection from %s: %s", self.peer, exc)
        except asyncio.TimeoutError:
            self.log.warning("closing TDS connection from %s: no login within %d s", self.peer, LOGIN_TIMEOUT)
        except (ConnectionError, OSError) as exc:
            self.log.info("TDS connection from %s lost: %s", self.peer, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.exception("TDS connection from %s failed", self.peer)
        finally:
            if self.current is not None and not self.current.done():
                self.current.cancel()
            await self.channel.close()

    async def _handshake(self) -> bool:
        await self._prelogin()
        return await self._login()

    async def _prelogin(self) -> None:
        strict = False
        first = await self.channel.peek_first_byte()
        if first == 0x16:  # a TLS ClientHello before any TDS packet: TDS 8 strict
            if self.ssl_context is None:
                raise ProtocolError("TLS-first (strict) client but no certificate configured")
            await self.channel.tls_first(self.ssl_context)
            self.channel.strict = strict = True
        msg = await self.channel.read_message()
        if msg is None or msg.type != PRELOGIN:
            raise ProtocolError(f"expected PRELOGIN, got {'nothing' if msg is None else hex(msg.type)}")
        request = parse_prelogin(msg.payload)
        version = tuple(self.backend.version)
        if strict:
            answer = request.encryption  # already inside TLS: echo (STRICT) and do nothing more
        else:
            answer = choose_encryption(request.encryption, self.ssl_context is not None)
        self.log.debug("PRELOGIN from %s: options %s, encryption 0x%02x -> 0x%02x", self.peer,
                       sorted(request.options), request.encryption, answer)
        self.fedauth_required = self.fedauth is not None and PL_FEDAUTHREQUIRED in request.options
        await self.channel.send(REPLY, build_prelogin_reply(version, answer, request,  # type: ignore[arg-type]
                                                            self.fedauth_required))
        if not strict and answer == ENCRYPT_ON:
            assert self.ssl_context is not None
            await self.channel.tls_in_prelogin(self.ssl_context)

    async def _login(self) -> bool:
        msg = await self.channel.read_message()
        if msg is None or msg.type != LOGIN7:
            raise ProtocolError(f"expected LOGIN7, got {'nothing' if msg is None else hex(msg.type)}")
        login = parse_login7(msg.payload)
        reply = tk.Reply()
        federated = FEATURE_FEDAUTH in login.features
        try:
            if login.integrated_security:
                raise SqlError(18456, "Login failed for user ''.", 14, 1)
            if federated:
                name = self._login_federated(login)
            else:
                name = login.user
                self.session = self.backend.login(login.user, login.password, login.database or None,
                                                  login.app_name)
        except SqlError as exc:
            return await self._refuse(reply, exc.message, login)
        except Exception:
            self.log.exception("backend.login failed for %r", login.user)
            who = TOKEN_PRINCIPAL if federated else login.user
            return await self._refuse(reply, Message(18456, f"Login failed for user '{who}'.", 14, 1), login)
        self.log.info("TDS login %r from %s (app %r, %s, packet size %d, TDS 0x%08x%s)", name, self.peer,
                      login.app_name, _tls_mode(self.channel), login.packet_size, login.tds_version,
                      ", Microsoft Entra token" if federated else "")
        database = self.session.database
        self.login_database = database
        size = login.packet_size or SERVER_PACKET_SIZE
        size = max(MIN_PACKET, min(size, MAX_NEGOTIATED_PACKET))
        reply.add(tk.envchange_str(tk.ENV_DATABASE, database, "master"))
        reply.add(tk.message(Message(5701, f"Changed database context to '{database}'.", 0, 2), self.server_name))
        reply.add(tk.collation_envchange())
        reply.add(tk.envchange_str(tk.ENV_LANGUAGE, "us_english", ""))
        reply.add(tk.message(Message(5703, "Changed language setting to us_english.", 0, 1), self.server_name))
        # Like SQL Server, answer an older client with its own version; everything else gets 7.4.
        tds_version = login.tds_version if login.tds_version in tk.OLDER_TDS else tk.TDS74
        reply.add(tk.loginack(tuple(self.backend.version), tds_version=tds_version))  # type: ignore[arg-type]
        if federated:  # MS-TDS 3.3.5.7: a FEDAUTH login MUST be acknowledged (no data for tokens)
            reply.add(tk.featureextack([(FEATURE_FEDAUTH, b"")]))
        elif login.features or login.option_flags3 & 0x10:
            reply.add(tk.featureextack_empty())
        reply.add(tk.envchange_str(tk.ENV_PACKETSIZE, str(size), str(login.packet_size or DEFAULT_PACKET_SIZE)))
        reply.done()
        await self.channel.send(REPLY, reply.encode())
        self.channel.packet_size = size
        return True

    def _login_federated(self, login: Login7) -> str:
        """A Microsoft Entra login: check the echo bit and the token, then let the backend admit the principal.

        The token itself is never logged; the principal's name is.
        """
        refused = SqlError(18456, f"Login failed for user '{TOKEN_PRINCIPAL}'.", 14, 1)
        fed = parse_fedauth(login.features[FEATURE_FEDAUTH])
        if fed.echo != self.fedauth_required:  # MS-TDS 3.3.5.5: the echo must match our PRELOGIN answer
            self.log.info("FEDAUTH echo %s does not match PRELOGIN FEDAUTHREQUIRED %s", fed.echo,
                          self.fedauth_required)
            raise refused
        login_federated = getattr(self.backend, "login_federated", None)
        if self.fedauth is None or login_federated is None or fed.library != FEDAUTH_SECURITY_TOKEN:
            self.log.info("Microsoft Entra login (library %d) refused: not configured on this server", fed.library)
            raise refused
        try:
            token = fed.token_text()
        except (ProtocolError, UnicodeDecodeError):
            raise refused from None
        principal = self.fedauth(token)
        self.session = login_federated(principal, login.database or None, login.app_name)
        return principal

    async def _refuse(self, reply: tk.Reply, msg: Message, login: Login7) -> bool:
        self.log.info("TDS login %r from %s refused: %s", login.user or TOKEN_PRINCIPAL, self.peer, msg.text)
        reply.add(tk.message(msg, self.server_name))
        reply.done(status=tk.DONE_ERROR)
        await self.channel.send(REPLY, reply.encode())
        return False

    async def _serve(self) -> None:
        reader = asyncio.create_task(self._read_loop())
        try:
            while True:
                item = await self.queue.get()
                if isinstance(item, _Closed):
                    raise item.error
                if item.type == ATTENTION:
                    await self.channel.send(REPLY, tk.Done(tk.DONE, tk.DONE_ATTN).encode(False))
                    continue
                task = asyncio.create_task(self._handle(item))
                self.current = task
                try:
                    await asyncio.wait({task})
                finally:
                    if not task.done():
                        task.cancel()
                        with contextlib.suppress(BaseException):
                            await task
                    self.current = None
                if task.cancelled():
                    continue  # ATTENTION: its marker is already queued
                exc = task.exception()
                if exc is not None:
                    raise exc
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def _read_loop(self) -> None:
        try:
            while True:
                msg = await self.channel.read_message()
                if msg is None:
                    continue  # IGNORE bit: the client abandoned that message
                if msg.type == ATTENTION:
                    while not self.queue.empty():
                        self.queue.get_nowait()
                    if self.current is not None and not self.current.done():
                        self.current.cancel()
                self.queue.put_nowait(msg)
        except Exception as exc:  # EOF, bad packet, TLS error: end the connection
            if self.current is not None and not self.current.done():
                self.current.cancel()
            self.queue.put_nowait(_Closed(exc))

    # ---- requests ----------------------------------------------------------------------
    async def _handle(self, msg: Request) -> None:
        reply = tk.Reply()
        if msg.status & (STATUS_RESETCONNECTION | STATUS_RESETCONNECTIONSKIPTRAN):
            self._reset(reply)
        if msg.type == SQL_BATCH:
            await self._batch(msg.payload, reply)
        elif msg.type == RPC:
            await self._rpc(msg.payload, reply)
        elif msg.type == TRANSACTION_MANAGER:
            self._transaction_manager(msg.payload, reply)
        else:
            raise ProtocolError(f"unexpected packet type 0x{msg.type:02x} after login")
        await self.channel.send(REPLY, reply.encode())

    def _reset(self, reply: tk.Reply) -> None:
        assert self.session is not None
        before = self.session.database
        try:
            self.backend.reset(self.session)
        except Exception:
            self.log.exception("backend.reset failed")
        reply.add(tk.envchange_bytes(tk.ENV_RESETACK, b"", b""))
        if self.session.database != before:
            reply.add(tk.envchange_str(tk.ENV_DATABASE, self.session.database, before))

    async def _batch(self, payload: bytes, reply: tk.Reply) -> None:
        r = Reader(payload)
        self.request_transaction = skip_all_headers(r)
        body = payload[r.pos:]
        if len(body) % 2:
            raise ProtocolError("SQL batch text has an odd number of bytes")
        sql = body.decode("utf-16-le", errors="replace")
        self.log.debug("spid %d SQL_BATCH %r", self.channel.spid, sql[:500])
        dti = match_datatype_info_batch(sql)
        if dti is not None:
            self._emit(reply, [datatype_info(*dti)], tk.DONE)
        else:
            await self._execute(reply, sql, [], tk.DONE)
        if not reply.ends_with_done():
            reply.done()

    async def _execute(self, reply: tk.Reply, sql: str, params: list[Param], done_token: int,
                       runner: Callable[[], Awaitable[list[Outcome]]] | None = None) -> tuple[bool, int | None]:
        """Run via the backend, emit tokens; return (error?, return status)."""
        assert self.session is not None
        before = self.session.database
        session = self.session
        try:
            outcomes = await (runner() if runner else self.backend.execute(session, sql, params))
        except SqlError as exc:
            outcomes = [exc.message]
        except DropConnection:
            self.log.info("dropping TDS connection from %s (injected fault)", self.peer)
            raise ConnectionClosed() from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log.exception("backend failed on %r", sql[:300])
            outcomes = [self._internal_error(exc)]
        if session.database != before:
            reply.add(tk.envchange_str(tk.ENV_DATABASE, session.database, before))
        return self._emit(reply, outcomes, done_token)

    @staticmethod
    def _internal_error(exc: BaseException) -> Message:
        return Message(INTERNAL_ERROR, f"Internal error in the lab SQL backend: {type(exc).__name__}: {exc}", 16, 1)

    def _emit(self, reply: tk.Reply, outcomes: list[Outcome], done_token: int) -> tuple[bool, int | None]:
        error = False
        status: int | None = None
        for outcome in outcomes:
            if isinstance(outcome, ResultSet):
                try:
                    data = tk.colmetadata(outcome.columns) + b"".join(
                        tk.row(outcome.columns, values) for values in outcome.rows)
                except (EncodeError, ValueError, TypeError) as exc:
                    self.log.error("cannot encode result set: %s", exc)
                    self._error(reply, Message(INTERNAL_ERROR, f"Lab TDS encoder: {exc}", 16, 1), done_token)
                    error = True
                    continue
                reply.add(data)
                reply.done(done_token, tk.DONE_COUNT, tk.CMD_SELECT, len(outcome.rows))
            elif isinstance(outcome, RowCount):
                reply.done(done_token, tk.DONE_COUNT, tk.CMD_DML, outcome.count)
            elif isinstance(outcome, Message):
                if outcome.is_error:
                    self._error(reply, outcome, done_token)
                    error = True
                else:
                    reply.add(tk.message(outcome, self.server_name))
            elif isinstance(outcome, ReturnStatus):
                if done_token == tk.DONE:
                    reply.add(tk.returnstatus(outcome.value))
                else:
                    status = outcome.value
            else:
                self.log.error("backend returned %r, not an Outcome", outcome)
                self._error(reply, Message(INTERNAL_ERROR, "Lab backend returned an unknown outcome", 16, 1),
                            done_token)
                error = True
        return error, status

    def _error(self, reply: tk.Reply, msg: Message, done_token: int) -> None:
        """ERROR -> DONE(error bit): every client raises it from the statement that failed."""
        if EMPTY_COLMETADATA_BEFORE_ERROR:
            reply.add(tk.colmetadata_empty())
        reply.add(tk.message(msg, self.server_name))
        reply.done(done_token, tk.DONE_ERROR)

    # ---- RPC ---------------------------------------------------------------------------
    async def _rpc(self, payload: bytes, reply: tk.Reply) -> None:
        r = Reader(payload)
        self.request_transaction = skip_all_headers(r)
        calls = parse_rpc(payload, r.pos)
        if len(calls) > 1:
            self.log.debug("spid %d RPC message with %d calls", self.channel.spid, len(calls))
        for call in calls:
            await self._call(call, reply)

    async def _call(self, call: RpcCall, reply: tk.Reply) -> None:
        key = call.key
        ps = call.params
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("spid %d RPC %s flags=%d params=%r", self.channel.spid, call.name, call.flags,
                           [(p.name, p.type and p.type.name, str(p.value)[:200], p.output) for p in ps])
        outputs: list[tuple[int, str, SqlType, Any]] = []
        error, status = False, None
        if key == "sp_executesql":
            sql = _text(ps, 0)
            decl = _text(ps, 1) if len(ps) > 1 else ""
            bound = self._bind(decl, ps[2:])
            error, status = await self._execute(reply, sql, bound, tk.DONEINPROC)
            outputs = _echo_outputs(ps, 2, bound)
        elif key in ("sp_prepexec", "sp_prepare"):
            decl, sql = _text(ps, 1), _text(ps, 2)
            handle = self.next_handle
            self.next_handle += 1
            self.prepared[handle] = _Prepared(sql, decl)
            outputs = [(0, ps[0].name if ps else "", SqlType("int"), handle)]
            if key == "sp_prepexec":
                bound = self._bind(decl, ps[3:])
                error, status = await self._execute(reply, sql, bound, tk.DONEINPROC)
                outputs += _echo_outputs(ps, 3, bound)
        elif key == "sp_execute":
            handle = ps[0].value if ps else None
            prepared = self.prepared.get(handle) if isinstance(handle, int) else None
            if prepared is None:
                self._error(reply, Message(8179, f"Could not find prepared statement with handle {handle}.",
                                           16, 4), tk.DONEINPROC)
                error = True
            elif prepared.procedure:
                error, status = await self._procedure(reply, prepared.sql, ps[1:])
                outputs = _echo_outputs(ps, 1, _as_params(ps[1:]))
            else:
                bound = self._bind(prepared.declarations, ps[1:])
                error, status = await self._execute(reply, prepared.sql, bound, tk.DONEINPROC)
                outputs = _echo_outputs(ps, 1, bound)
        elif key == "sp_prepexecrpc":  # ODBC {call proc(?, ?)}: handle OUT, procedure name, its params
            procedure = _text(ps, 1)
            handle = self.next_handle
            self.next_handle += 1
            self.prepared[handle] = _Prepared(procedure, "", procedure=True)
            outputs = [(0, ps[0].name if ps else "", SqlType("int"), handle)]
            error, status = await self._procedure(reply, procedure, ps[2:])
            outputs += _echo_outputs(ps, 2, _as_params(ps[2:]))
        elif key == "sp_unprepare":
            if ps and isinstance(ps[0].value, int):
                self.prepared.pop(ps[0].value, None)
        elif key in ("sp_datatype_info_100", "sp_datatype_info", "sp_datatype_info_90"):
            data_type = _int(ps, 0, "@data_type")
            odbc = _int(ps, 1, "@odbcver")
            self._emit(reply, [datatype_info(data_type, odbc)], tk.DONEINPROC)
        elif key == "sp_describe_undeclared_parameters":
            error = self._describe_undeclared(ps, reply)
        else:
            error, status = await self._procedure(reply, call.name, ps)
            outputs = _echo_outputs(ps, 0, _as_params(ps))
        reply.add(tk.returnstatus(status if status is not None else (1 if error else 0)))
        for ordinal, name, sql_type, value in outputs:
            try:
                reply.add(tk.returnvalue(ordinal, name, sql_type, value))
            except (EncodeError, ValueError) as exc:
                self.log.error("cannot encode output parameter %s: %s", name, exc)
        reply.done(tk.DONEPROC, tk.DONE_ERROR if error else tk.DONE_FINAL)

    async def _procedure(self, reply: tk.Reply, name: str, ps: list[RpcParam]) -> tuple[bool, int | None]:
        """A procedure the protocol layer doesn't implement: ``backend.call``."""
        assert self.session is not None
        session, params = self.session, _as_params(ps)
        return await self._execute(reply, f"EXEC {name}", params, tk.DONEINPROC,
                                   runner=lambda: self.backend.call(session, name, params))

    def _bind(self, declarations: str, values: list[RpcParam]) -> list[Param]:
        """Give each value its declared name and type (values may arrive unnamed/positional)."""
        decls = split_declarations(declarations)
        by_name = {name.lower(): (name, typ, out) for name, typ, out in decls}
        bound = []
        for i, p in enumerate(values):
            decl = by_name.get(p.name.lower()) if p.name else (decls[i] if i < len(decls) else None)
            name = p.name or (decl[0] if decl else f"@P{i + 1}")
            declared = parse_type(decl[1]) if decl else None
            bound.append(Param(name, p.value, declared or p.type, p.output or bool(decl and decl[2])))
        return bound

    def _describe_undeclared(self, ps: list[RpcParam], reply: tk.Reply) -> bool:
        sql = _text(ps, 0)
        decl = _text(ps, 1) if len(ps) > 1 else ""
        declared = [name for name, _t, _o in split_declarations(decl)]
        names = undeclared_names(sql, declared)
        known: dict[str, SqlType] = {}
        hook = getattr(self.backend, "describe_parameters", None)
        if hook is not None:
            try:
                known = dict(hook(self.session, sql, names) or {})
            except Exception:
                self.log.exception("backend.describe_parameters failed")
        error, _ = self._emit(reply, [describe_parameters(names, known)], tk.DONEINPROC)
        return error

    # ---- transaction manager -----------------------------------------------------------
    def _transaction_manager(self, payload: bytes, reply: tk.Reply) -> None:
        assert self.session is not None
        r = Reader(payload)
        self.request_transaction = skip_all_headers(r)
        request = r.u16()
        self.log.debug("spid %d TRANSACTION_MANAGER request %d", self.channel.spid, request)
        try:
            if request == TM_BEGIN:
                self._tm_begin(reply)
            elif request in (TM_COMMIT, TM_ROLLBACK):
                if not r.at_end():
                    r.b_varchar()  # transaction name
                flags = r.u8() if not r.at_end() else 0
                old = self.transaction
                if request == TM_COMMIT:
                    self.backend.commit(self.session)
                else:
                    self.backend.rollback(self.session)
                self.transaction = 0
                kind = tk.ENV_COMMIT_TRAN if request == TM_COMMIT else tk.ENV_ROLLBACK_TRAN
                reply.add(tk.envchange_bytes(kind, b"", old.to_bytes(8, "little")))
                if flags & 0x01:  # fBeginXact: start the next transaction right away
                    self._tm_begin(reply)
            else:
                raise SqlError(8521, f"Transaction manager request {request} is not supported by this server.")
        except SqlError as exc:
            self._error(reply, exc.message, tk.DONE)
            return
        except Exception as exc:
            self.log.exception("backend transaction call failed")
            self._error(reply, self._internal_error(exc), tk.DONE)
            return
        reply.done()

    def _tm_begin(self, reply: tk.Reply) -> None:
        assert self.session is not None
        descriptor = int(self.backend.begin(self.session)) & 0xFFFFFFFFFFFFFFFF
        self.transaction = descriptor
        reply.add(tk.envchange_bytes(tk.ENV_BEGIN_TRAN, descriptor.to_bytes(8, "little"), b""))


def _tls_mode(channel: Channel) -> str:
    if not channel.encrypted:
        return "plaintext"
    return "TLS strict (TDS 8)" if channel.strict else "TLS"


def _text(ps: list[RpcParam], index: int) -> str:
    if index >= len(ps) or ps[index].value is None:
        return ""
    value = ps[index].value
    return value.decode("utf-16-le", errors="replace") if isinstance(value, bytes) else str(value)


def _int(ps: list[RpcParam], index: int, name: str) -> int | None:
    named = [p for p in ps if p.name.lower() == name]
    p = named[0] if named else (ps[index] if index < len(ps) else None)
    if p is None or p.value is None:
        return None
    try:
        return int(p.value)
    except (TypeError, ValueError):
        return None


def _as_params(ps: list[RpcParam]) -> list[Param]:
    return [Param(p.name, p.value, p.type, p.output) for p in ps]


def _echo_outputs(ps: list[RpcParam], offset: int, bound: list[Param]) -> list[tuple[int, str, SqlType, Any]]:
    """OUTPUT parameters come back with the value they went in with (the backend has no way to set them)."""
    out = []
    for i, param in enumerate(bound):
        if ps[offset + i].output:
            sql_type = param.type or SqlType("nvarchar", 4000)
            value = param.value
            if isinstance(value, dt.datetime) and sql_type.name == "datetimeoffset" and value.tzinfo is None:
                value = value.replace(tzinfo=dt.timezone.utc)
            out.append((offset + i, ps[offset + i].name, sql_type, value))
    return out


__all__ = ["TdsServer", "normalise_proc_name", "prepare_ssl_context", "serve_tds"]
