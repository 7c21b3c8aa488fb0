"""CREATE / DROP / ALTER DATABASE, BACKUP DATABASE / LOG and RESTORE ... WITH RECOVERY.

BACKUP writes real msdb history (model ``Backup`` rows) and the informational messages a
client sees, starts the log chain, truncates the log and tells the replication engine, which
is what makes the link's prerequisites (FULL recovery + a full backup) and its hazards
(log backups during seeding) observable.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from ...hooks import LabError
from ...model import Backup, Database, DataFile, Filegroup
from ...tds.backend import Message, Outcome
from ..context import BackupExtra, ExecEnv, data_path
from ..errors import TsqlError, info_text, sql_error
from ..lexer import NSTR, STR, VAR, Cursor, Token, at_statement_end
from .base import Command, Option, find, parse_flat_options, parse_option_list, require_sysadmin, unsupported


def _value(env: ExecEnv, tok: Token) -> Any:
    if tok.kind == VAR:
        entry = env.variables.get(tok.text.lower())
        if entry is None:
            raise sql_error(137, tok.text)
        return entry[1]
    return tok.text


def _size_pages(text: str, default_unit: str = "MB") -> int:
    text = text.strip().upper()
    unit = default_unit
    for u in ("KB", "MB", "GB", "TB", "%"):
        if text.endswith(u):
            unit, text = u, text[: -len(u)]
            break
    if unit == "%":
        return 0
    kb = float(text) * {"KB": 1, "MB": 1024, "GB": 1024 ** 2, "TB": 1024 ** 3}[unit]
    return max(1, int(kb // 8))


# --------------------------------------------------------------------------- CREATE / DROP DATABASE


@dataclass
class FileSpec:
    name: str | None
    filename: str | None
    size_pages: int | None


@dataclass
class CreateDatabase(Command):
    name: str
    data: list[tuple[str, str, FileSpec]] = field(default_factory=list)  # (filegroup, fg type, spec)
    log: list[FileSpec] = field(default_factory=list)
    collation: str | None = None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env, 262)
        if env.find_db(self.name) is not None:
            raise sql_error(1801, self.name)
        inst = env.inst
        db = Database(name=self.name, database_id=inst.next_database_id(),
                      recovery_model="SIMPLE" if inst.engine_edition == 4 else "FULL",
                      collation=self.collation or inst.collation, compatibility_level=inst.major * 10,
                      create_date=env.now.replace(microsecond=(env.now.microsecond // 1000) * 1000),
                      is_broker_enabled=True, last_commit_time=None)
        files: list[DataFile] = []
        groups: dict[str, Filegroup] = {"PRIMARY": Filegroup("PRIMARY", 1)}
        fid = 1
        specs = self.data or [("PRIMARY", "FG", FileSpec(None, None, None))]
        for fg_name, fg_type, spec in specs:
            fg = groups.get(fg_name.upper())
            if fg is None:
                fg = Filegroup(fg_name, len(groups) + 1, fg_type)  # type: ignore[arg-type]
                groups[fg_name.upper()] = fg
            files.append(DataFile(fid, 2 if fg.type in ("FD", "FX") else 0, spec.name or self.name,
                                  spec.filename or data_path(inst, f"{self.name}.mdf"),
                                  0 if fg.type in ("FD", "FX") else (spec.size_pages or 1024), fg.data_space_id))
            fid = 3 if fid == 1 else fid + 1
        for i, spec in enumerate(self.log or [FileSpec(None, None, None)]):
            files.append(DataFile(2 if i == 0 else fid, 1, spec.name or f"{self.name}_log",
                                  spec.filename or data_path(inst, f"{self.name}_log.ldf"),
                                  spec.size_pages or 1024, 0))
            if i:
                fid += 1
        db.files = sorted(files, key=lambda f: f.file_id)
        db.filegroups = sorted(groups.values(), key=lambda g: g.data_space_id)
        inst.databases[self.name] = db
        return []


def _parse_filespec(cur: Cursor) -> FileSpec:
    opts = parse_option_list(cur)
    name = find(opts, "NAME")
    filename = find(opts, "FILENAME")
    size = find(opts, "SIZE")
    return FileSpec(name.string() if name else None, filename.string() if filename else None,
                    _size_pages("".join(t.text for t in size.tokens)) if size else None)


def _parse_create_database(cur: Cursor, name: str) -> CreateDatabase:
    cmd = CreateDatabase(name)
    if cur.accept_word("CONTAINMENT"):
        cur.expect_punct("=")
        cur.next()
    if cur.accept_word("ON"):
        fg, fg_type = "PRIMARY", "FG"
        cur.accept_word("PRIMARY")
        while True:
            if cur.accept_word("FILEGROUP"):
                fg, fg_type = cur.name(), "FG"
                if cur.accept_word("CONTAINS"):
                    if cur.accept_word("FILESTREAM"):
                        fg_type = "FD"
                    elif cur.accept_word("MEMORY_OPTIMIZED_DATA"):
                        fg_type = "FX"
                    else:
                        raise cur.error()
                cur.accept_word("DEFAULT")
            cmd.data.append((fg, fg_type, _parse_filespec(cur)))
            if not cur.accept_punct(","):
                break
        if cur.accept_word("LOG", "ON"):
            cmd.log.append(_parse_filespec(cur))
            while cur.accept_punct(","):
                cmd.log.append(_parse_filespec(cur))
    if cur.accept_word("COLLATE"):
        cmd.collation = cur.name()
    if cur.accept_word("FOR") or cur.accept_word("AS"):
        raise unsupported("FOR ATTACH / AS SNAPSHOT OF")
    if cur.accept_word("WITH"):
        parse_flat_options(cur)
    return cmd


@dataclass
class DropDatabase(Command):
    names: list[str]
    if_exists: bool

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        for name in self.names:
            db = env.find_db(name)
            if db is None:
                if self.if_exists:
                    continue
                raise sql_error(3701, "database", name)
            if db.database_id <= 4:
                raise sql_error(3708, db.name)
            if db.group_database_id is not None or any(
                    db.name.lower() in (n.lower() for n in ag.databases)
                    for ag in env.inst.availability_groups.values()):
                raise sql_error(3752, db.name)
            if any(s.database.lower() == db.name.lower() for s in env.state.sessions.values()):
                raise sql_error(3702, db.name)
            key = next(k for k, v in env.inst.databases.items() if v is db)
            del env.inst.databases[key]
        return []


# --------------------------------------------------------------------------- ALTER DATABASE


@dataclass
class AlterDatabase(Command):
    name: str | None  # None = CURRENT
    action: str
    value: Any = None
    extra: Any = None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        name = self.name or env.session.database
        db = env.find_db(name)
        if db is None:
            raise sql_error(5011, name)
        if not env.sysadmin:
            raise sql_error(5011, name)
        handler = getattr(self, f"_do_{self.action.lower()}")
        return handler(env, db) or []

    def _do_recovery(self, env: ExecEnv, db: Database) -> None:
        model = self.value
        if model == "SIMPLE" and _ag_of(env, db) is not None:
            raise sql_error(1468, db.name)
        if db.name.lower() in ("tempdb",) and model != "SIMPLE":
            raise sql_error(5058, "RECOVERY", db.name)
        if model == "SIMPLE":
            db.log_chain_started = False
        db.recovery_model = model

    def _do_hadr(self, env: ExecEnv, db: Database) -> None:
        verb = self.value
        current = _ag_of(env, db)
        if verb == "GROUP":
            ag = env.inst.find_ag(self.extra)
            if ag is None or ag.is_distributed:
                raise sql_error(15151, "find", "availability group", self.extra)
            if ag.role == "PRIMARY":
                raise TsqlError(
                    35240, f"Database '{db.name}' cannot be joined to or unjoined from availability group "
                           f"'{ag.name}'. This operation is not supported on the primary replica of the availability "
                           "group.", 16, 1)
            if current is not None:
                raise sql_error(35244, db.name, ag.name)
            ag.databases.append(db.name)
            from .availability import join_database

            join_database(env, ag, db)
        elif verb == "OFF":
            if current is None:
                raise TsqlError(35242, f"Cannot complete this ALTER DATABASE <database-name> SET HADR operation on "
                                       f"database '{db.name}'. The database is not joined to an availability group. "
                                       "After the database has joined the availability group, retry the command.",
                                16, 1)
            current.databases[:] = [n for n in current.databases if n.lower() != db.name.lower()]
            db.group_database_id = None
            db.replica_id = None
        else:
            if current is None:
                raise TsqlError(35242, f"Cannot complete this ALTER DATABASE <database-name> SET HADR operation on "
                                       f"database '{db.name}'. The database is not joined to an availability group. "
                                       "After the database has joined the availability group, retry the command.",
                                16, 1)
            if verb == "SUSPEND":
                env.state.suspended.add(db.name.lower())
            else:
                env.state.suspended.discard(db.name.lower())

    def _do_state(self, env: ExecEnv, db: Database) -> None:
        if self.value in ("READ_ONLY", "READ_WRITE"):
            db.is_read_only = self.value == "READ_ONLY"
        elif self.value in ("ONLINE", "OFFLINE", "EMERGENCY"):
            if _ag_of(env, db) is not None and self.value != "ONLINE":
                raise sql_error(1468, db.name)
            db.state = self.value

    def _do_encryption(self, env: ExecEnv, db: Database) -> None:
        db.is_encrypted = self.value == "ON"

    def _do_broker(self, env: ExecEnv, db: Database) -> None:
        db.is_broker_enabled = self.value in ("ENABLE_BROKER", "NEW_BROKER")

    def _do_adr(self, env: ExecEnv, db: Database) -> None:
        if env.major < 15:
            raise unsupported("ACCELERATED_DATABASE_RECOVERY")
        db.is_adr_on = self.value == "ON"

    def _do_compat(self, env: ExecEnv, db: Database) -> None:
        level = int(self.value)
        if level not in range(100, env.major * 10 + 1, 10):
            raise TsqlError(15048, "Valid values of the database compatibility level are 100, 110, 120, 130, "
                                   f"140, 150, or {env.major * 10}.", 16, 1)
        db.compatibility_level = level

    def _do_rename(self, env: ExecEnv, db: Database) -> None:
        if env.find_db(self.value) is not None:
            raise sql_error(1801, self.value)
        if _ag_of(env, db) is not None:
            raise sql_error(1468, db.name)
        key = next(k for k, v in env.inst.databases.items() if v is db)
        del env.inst.databases[key]
        db.name = self.value
        env.inst.databases[db.name] = db
        return None

    def _do_add_filegroup(self, env: ExecEnv, db: Database) -> None:
        name, kind = self.value
        if any(fg.name.lower() == name.lower() for fg in db.filegroups):
            raise TsqlError(1719, f"The filegroup '{name}' already exists in this database.", 16, 1)
        db.filegroups.append(Filegroup(name, max(fg.data_space_id for fg in db.filegroups) + 1, kind))

    def _do_add_file(self, env: ExecEnv, db: Database) -> None:
        specs, fg_name, log = self.value
        fg = next((g for g in db.filegroups if g.name.lower() == (fg_name or "PRIMARY").lower()), None)
        if fg is None and not log:
            raise TsqlError(1710, f"Cannot use the filegroup '{fg_name}' because it does not exist.", 16, 1)
        files = list(db.files) or _default_files(env, db)
        for spec in specs:
            fid = max(f.file_id for f in files) + 1
            kind = 1 if log else (2 if fg is not None and fg.type in ("FD", "FX") else 0)
            files.append(DataFile(fid, kind, spec.name or f"{db.name}_{fid}",
                                  spec.filename or data_path(env.inst, f"{db.name}_{fid}.ndf"),
                                  0 if kind == 2 else (spec.size_pages or 1024),
                                  0 if log else fg.data_space_id))  # type: ignore[union-attr]
        db.files = files

    def _do_modify_file(self, env: ExecEnv, db: Database) -> None:
        spec: FileSpec = self.value
        files = list(db.files) or _default_files(env, db)
        target = next((f for f in files if f.name.lower() == (spec.name or "").lower()), None)
        if target is None:
            raise TsqlError(5041, f"MODIFY FILE failed. File '{spec.name}' does not exist.", 16, 1)
        if spec.size_pages:
            target.size_pages = spec.size_pages
        db.files = files


def _default_files(env: ExecEnv, db: Database) -> list[DataFile]:
    from ..context import default_files

    return list(default_files(env.inst, db))


def _ag_of(env: ExecEnv, db: Database):
    for ag in env.inst.availability_groups.values():
        if not ag.is_distributed and any(n.lower() == db.name.lower() for n in ag.databases):
            return ag
    return None


def _parse_alter_database(cur: Cursor, name: str | None) -> Command:
    if cur.accept_word("MODIFY", "NAME"):
        cur.expect_punct("=")
        return AlterDatabase(name, "RENAME", cur.name())
    if cur.accept_word("ADD", "FILEGROUP"):
        fg = cur.name()
        kind = "FG"
        if cur.accept_word("CONTAINS", "FILESTREAM"):
            kind = "FD"
        elif cur.accept_word("CONTAINS", "MEMORY_OPTIMIZED_DATA"):
            kind = "FX"
        return AlterDatabase(name, "ADD_FILEGROUP", (fg, kind))
    if cur.at_word("ADD", "FILE") or cur.at_word("ADD", "LOG", "FILE"):
        cur.next()
        log = cur.accept_word("LOG")
        cur.expect_word("FILE")
        specs = [_parse_filespec(cur)]
        while cur.accept_punct(","):
            specs.append(_parse_filespec(cur))
        fg = None
        if cur.accept_word("TO", "FILEGROUP"):
            fg = cur.name()
        return AlterDatabase(name, "ADD_FILE", (specs, fg, log))
    if cur.accept_word("MODIFY", "FILE"):
        return AlterDatabase(name, "MODIFY_FILE", _parse_filespec(cur))
    cur.expect_word("SET")
    word = cur.next()
    w = word.upper
    cmd: AlterDatabase
    if w == "RECOVERY":
        model = cur.next().upper
        if model not in ("FULL", "SIMPLE", "BULK_LOGGED"):
            raise sql_error(102, model)
        cmd = AlterDatabase(name, "RECOVERY", model)
    elif w == "HADR":
        if cur.accept_word("AVAILABILITY", "GROUP"):
            cur.expect_punct("=")
            cmd = AlterDatabase(name, "HADR", "GROUP", cur.name())
        else:
            verb = cur.next().upper
            if verb not in ("OFF", "SUSPEND", "RESUME"):
                raise sql_error(102, verb)
            cmd = AlterDatabase(name, "HADR", verb)
    elif w in ("READ_ONLY", "READ_WRITE", "ONLINE", "OFFLINE", "EMERGENCY"):
        cmd = AlterDatabase(name, "STATE", w)
    elif w == "ENCRYPTION":
        cmd = AlterDatabase(name, "ENCRYPTION", cur.next().upper)
    elif w in ("ENABLE_BROKER", "NEW_BROKER", "DISABLE_BROKER", "ERROR_BROKER_CONVERSATIONS"):
        cmd = AlterDatabase(name, "BROKER", w)
    elif w == "ACCELERATED_DATABASE_RECOVERY":
        cur.expect_punct("=")
        cmd = AlterDatabase(name, "ADR", cur.next().upper)
        if cur.at_punct("("):
            parse_option_list(cur)
    elif w == "COMPATIBILITY_LEVEL":
        cur.expect_punct("=")
        cmd = AlterDatabase(name, "COMPAT", cur.integer())
    else:
        raise unsupported(f"SET {word.text}")
    if cur.accept_word("WITH"):
        while not at_statement_end(cur):
            cur.next()
    return cmd


def parse_database(cur: Cursor) -> Command:
    action = cur.next().upper
    cur.expect_word("DATABASE")
    if action == "DROP":
        if_exists = cur.accept_word("IF", "EXISTS")
        names = [cur.name()]
        while cur.accept_punct(","):
            names.append(cur.name())
        return DropDatabase(names, if_exists)
    if action == "ALTER":
        name = None if cur.accept_word("CURRENT") else cur.name()
        return _parse_alter_database(cur, name)
    return _parse_create_database(cur, cur.name())


# --------------------------------------------------------------------------- BACKUP


@dataclass
class BackupCommand(Command):
    kind: str  # DATABASE / LOG
    database: Token
    devices: list[tuple[str, Token]]
    options: list[Option]

    @property
    def verb(self) -> str:
        return f"BACKUP {self.kind}"

    def _fail(self, err: TsqlError) -> TsqlError:
        err.extra.append(sql_error(3013, self.verb))
        return err

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env, 262)
        name = str(_value(env, self.database))
        db = env.find_db(name)
        if db is None:
            raise self._fail(sql_error(911, name))
        if db.name.lower() == "tempdb":
            raise self._fail(sql_error(3147))
        opts = {o.name: o for o in self.options}
        for device_kind, _ in self.devices:
            if device_kind == "TAPE":
                raise self._fail(TsqlError(3201, "Cannot open backup device 'TAPE'. Operating system error 2(The "
                                                 "system cannot find the file specified.).", 16, 1))
        copy_only = "COPY_ONLY" in opts
        differential = "DIFFERENTIAL" in opts
        base = _last_full(env, db.name)
        if self.kind == "LOG":
            if db.recovery_model == "SIMPLE":
                raise self._fail(sql_error(4208))
            if not db.log_chain_started:
                raise self._fail(sql_error(4214))
        elif differential and base is None:
            raise self._fail(sql_error(3035, db.name))
        return self._run(env, db, opts, copy_only, differential, base)

    def _run(self, env: ExecEnv, db: Database, opts: dict[str, Option], copy_only: bool, differential: bool,
             base: Backup | None) -> list[Outcome]:
        from ..context import default_files

        config = env.state.config
        compressed = "COMPRESSION" in opts or (config["backup compression default"].in_use() == 1
                                               and "NO_COMPRESSION" not in opts)
        checksum = "CHECKSUM" in opts or (config["backup checksum default"].in_use() == 1
                                          and "NO_CHECKSUM" not in opts)
        files = default_files(env.inst, db)
        messages: list[Outcome] = []
        processed: list[tuple[str, int]] = []
        if self.kind == "DATABASE":
            for f in files:
                if f.type == 0:
                    pages = max(24, int(f.size_pages * (0.1 if differential else 0.45)))
                    processed.append((f.name, pages))
            for f in files:
                if f.type == 1:
                    processed.append((f.name, 2 if differential else 3))
        else:
            log = next((f for f in files if f.type == 1), None)
            pages = max(1, (db.end_of_log_lsn - db.log_truncation_lsn) // 8192 + 1)
            processed.append((log.name if log else f"{db.name}_log", pages))
        total_pages = sum(p for _, p in processed)
        position = self._file_number(env, "INIT" in opts or "FORMAT" in opts)
        stats = opts.get("STATS")
        if stats is not None:
            step = stats.integer() if stats.tokens else 10
            step = min(max(step, 1), 100)
            for pct in range(step, 101, step):
                messages.append(Message(3211, info_text(3211, pct), 10))
            if 100 % step:
                messages.append(Message(3211, info_text(3211, 100), 10))
        for fname, pages in processed:
            messages.append(Message(4035, info_text(4035, pages, db.name, fname, position), 10))
        size = total_pages * 8192 + 90_112
        seconds = max(0.005, size / (350 * 1024 * 1024))
        mb_s = size / 1024 / 1024 / seconds
        messages.append(Message(3014, info_text(3014, self.verb, total_pages, f"{seconds:.3f}", f"{mb_s:.3f}"), 10))
        start = env.now.replace(microsecond=0)
        finish = start + dt.timedelta(seconds=math.ceil(seconds))
        btype = "L" if self.kind == "LOG" else ("I" if differential else "D")
        if btype == "L":
            prev = _last_log(env, db.name)
            first_lsn = prev.last_lsn if prev is not None else (base.first_lsn if base else db.log_truncation_lsn)
        else:
            first_lsn = db.end_of_log_lsn
        backup = Backup(database_name=db.name, type=btype, start=start, finish=finish, first_lsn=first_lsn,  # type: ignore[arg-type]
                        last_lsn=db.end_of_log_lsn, size_bytes=size, is_copy_only=copy_only, checksums=checksum)
        device = self.devices[0][1]
        name_opt, desc_opt = opts.get("NAME"), opts.get("DESCRIPTION")
        env.state.backup_extra[backup.backup_set_id] = BackupExtra(
            device=str(_value(env, device)), compressed=compressed, user_name=env.session.login,
            begins_log_chain=btype == "L" and _last_log(env, db.name) is None,
            database_backup_lsn=base.first_lsn if base is not None else None,
            name=name_opt.string() if name_opt else None, description=desc_opt.string() if desc_opt else None)
        env.inst.backups.append(backup)
        if btype == "D" and not copy_only and db.recovery_model in ("FULL", "BULK_LOGGED"):
            db.log_chain_started = True
        if btype == "L":
            if not copy_only and "NO_TRUNCATE" not in opts:
                db.log_truncation_lsn = db.end_of_log_lsn
            if "NORECOVERY" in opts:
                db.state = "RESTORING"
            try:
                env.ops.sql_log_backup(env.inst, db.name)
            except LabError as exc:  # the backup itself succeeded; report what it broke
                messages.append(Message(exc.number or 50000, exc.text, exc.severity, exc.state))
        return messages

    def _file_number(self, env: ExecEnv, init: bool) -> int:
        if init:
            return 1
        device = self.devices[0][1].text.lower()
        if device == "nul":
            return 1
        return 1 + sum(1 for extra in env.state.backup_extra.values() if extra.device.lower() == device)


def _last_full(env: ExecEnv, db_name: str) -> Backup | None:
    fulls = [b for b in env.inst.backups if b.database_name.lower() == db_name.lower() and b.type == "D"
             and not b.is_copy_only]
    return max(fulls, key=lambda b: (b.finish, b.backup_set_id)) if fulls else None


def _last_log(env: ExecEnv, db_name: str) -> Backup | None:
    base = _last_full(env, db_name)
    logs = [b for b in env.inst.backups if b.database_name.lower() == db_name.lower() and b.type == "L"
            and not b.is_copy_only and (base is None or b.backup_set_id > base.backup_set_id)]
    return max(logs, key=lambda b: b.backup_set_id) if logs else None


_BACKUP_OPTIONS = {
    "COPY_ONLY", "COMPRESSION", "NO_COMPRESSION", "CHECKSUM", "NO_CHECKSUM", "INIT", "NOINIT", "FORMAT",
    "NOFORMAT", "SKIP", "NOSKIP", "STATS", "NAME", "DESCRIPTION", "DIFFERENTIAL", "NORECOVERY", "NO_TRUNCATE",
    "STANDBY", "MAXTRANSFERSIZE", "BUFFERCOUNT", "BLOCKSIZE", "REWIND", "NOREWIND", "UNLOAD", "NOUNLOAD",
    "CONTINUE_AFTER_ERROR", "STOP_ON_ERROR", "MEDIANAME", "MEDIADESCRIPTION", "EXPIREDATE", "RETAINDAYS",
    "ENCRYPTION", "CREDENTIAL", "RESTART", "FILE_SNAPSHOT", "METADATA_ONLY", "SNAPSHOT", "BACKUP_OPTIONS",
}


def parse_backup(cur: Cursor) -> BackupCommand:
    cur.expect_word("BACKUP")
    kind = cur.next().upper
    db_tok = cur.next()
    if not (db_tok.is_name or db_tok.kind == VAR):
        raise sql_error(102, db_tok.text)
    devices: list[tuple[str, Token]] = []
    cur.expect_word("TO")
    while True:
        t = cur.peek()
        if t is not None and t.upper in ("DISK", "URL", "TAPE") and cur.peek(1) is not None \
                and cur.peek(1).is_punct("="):  # type: ignore[union-attr]
            kind_word = cur.next().upper
            cur.expect_punct("=")
            dev = cur.next()
            if dev.kind not in (STR, NSTR, VAR):
                raise sql_error(102, dev.text)
            devices.append((kind_word, dev))
        elif t is not None and t.is_name:
            raise TsqlError(3206, f"Backup device '{cur.next().text}' does not exist. To view existing backup "
                                  "devices, use the sys.backup_devices catalog view. To create a new backup device "
                                  "use either sp_addumpdevice or SQL Server Management Studio.", 16, 1)
        else:
            raise cur.error()
        if not cur.accept_punct(","):
            break
    if cur.accept_word("MIRROR", "TO"):
        while not cur.at_word("WITH") and not at_statement_end(cur):
            cur.next()
    options: list[Option] = []
    if cur.accept_word("WITH"):
        options = parse_flat_options(cur)
        for o in options:
            if o.name not in _BACKUP_OPTIONS:
                raise sql_error(102, o.name)
    return BackupCommand(kind, db_tok, devices, options)


@dataclass
class RestoreRecovery(Command):
    """RESTORE DATABASE | LOG <db> WITH RECOVERY and nothing else: recover a RESTORING database.

    This is what brings SQL Server's copy online after a link whose managed instance was primary
    is dropped (DROP AVAILABILITY GROUP leaves it RESTORING). Restoring from a backup device is not
    simulated (error 40517).
    """

    kind: str  # DATABASE / LOG
    database: Token

    def _fail(self, err: TsqlError) -> TsqlError:
        err.extra.append(sql_error(3013, f"RESTORE {self.kind}"))
        return err

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env, 262)
        name = str(_value(env, self.database))
        db = env.find_db(name)
        if db is None:  # UNVERIFIED: the number a recovery-only RESTORE of a missing database gets
            raise self._fail(sql_error(911, name))
        if db.group_database_id is not None or any(
                db.name.lower() in (n.lower() for n in ag.databases) for ag in env.inst.availability_groups.values()):
            raise self._fail(sql_error(3104, db.name))
        if db.state != "RESTORING":
            raise self._fail(sql_error(3153))
        db.state = "ONLINE"
        seconds = 0.004
        return [Message(3014, info_text(3014, f"RESTORE {self.kind}", 0, f"{seconds:.3f}", "0.000"), 10)]


def parse_restore(cur: Cursor) -> Command:
    cur.expect_word("RESTORE")
    kind = cur.next().upper
    if kind not in ("DATABASE", "LOG"):
        raise unsupported(f"RESTORE {kind}")
    db_tok = cur.next()
    if not (db_tok.is_name or db_tok.kind == VAR):
        raise sql_error(102, db_tok.text)
    if not cur.accept_word("WITH"):
        raise unsupported("RESTORE ... FROM")
    options = parse_flat_options(cur)
    if [o.name for o in options] != ["RECOVERY"]:
        raise unsupported("RESTORE ... WITH " + ", ".join(o.name for o in options))
    return RestoreRecovery(kind, db_tok)
