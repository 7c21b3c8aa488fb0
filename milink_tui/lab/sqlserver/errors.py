"""SQL Server error numbers, severities and message texts the simulated engine raises.

Texts follow sys.messages (en-US) so clients and the app's error mapping see what a real
server sends; ``%s`` placeholders are filled by :func:`sql_error`. Keeping them in one table
makes it easy to audit the wording against the reference.
"""

from __future__ import annotations

from ..tds.backend import SqlError

# number -> (severity, default state, text with %s placeholders). Texts and severities checked
# against the sys.messages lists in MicrosoftDocs/sql-docs (errors-events/...events-and-errors-*.md);
# the default state is the one commonly seen by clients (catalog.md §12), mostly unverifiable.
MESSAGES: dict[int, tuple[int, int, str]] = {
    102: (15, 1, "Incorrect syntax near '%s'."),
    105: (15, 1, "Unclosed quotation mark after the character string '%s'."),
    134: (15, 1, "The variable name '%s' has already been declared. Variable names must be unique "
               "within a query batch or stored procedure."),
    137: (15, 2, 'Must declare the scalar variable "%s".'),
    156: (15, 1, "Incorrect syntax near the keyword '%s'."),
    174: (15, 1, "The %s function requires %s argument(s)."),
    195: (15, 10, "'%s' is not a recognized built-in function name."),
    201: (16, 4, "Procedure or function '%s' expects parameter '%s', which was not supplied."),
    207: (16, 1, "Invalid column name '%s'."),
    208: (16, 1, "Invalid object name '%s'."),
    209: (16, 1, "Ambiguous column name '%s'."),
    241: (16, 1, "Conversion failed when converting date and/or time from character string."),
    245: (16, 1, "Conversion failed when converting the %s value '%s' to data type %s."),
    262: (14, 1, "CREATE DATABASE permission denied in database 'master'."),
    297: (16, 1, "The user does not have permission to perform this action."),
    300: (14, 1, "%s permission was denied on object 'server', database 'master'."),
    911: (16, 1, "Database '%s' does not exist. Make sure that the name is entered correctly."),
    1465: (16, 1, 'Database mirroring cannot be enabled because the "%s" database is not in full '
                  "recovery mode on both partners."),
    1468: (16, 1, 'The operation cannot be performed on database "%s" because it is involved in a '
                  "database mirroring session or an availability group. Some operations are not "
                  "allowed on a database that is participating in a database mirroring session or "
                  "in an availability group."),
    1475: (16, 105, 'Database mirroring cannot be enabled because the "%s" database may have bulk '
                    "logged changes that have not been backed up. The last log backup on the "
                    "principal must be restored on the mirror."),
    1801: (16, 3, "Database '%s' already exists. Choose a different database name."),
    2571: (14, 3, "User '%s' does not have permission to run DBCC %s."),
    2812: (16, 62, "Could not find stored procedure '%s'."),
    3013: (16, 1, "%s is terminating abnormally."),
    3014: (10, 1, "%s successfully processed %s pages in %s seconds (%s MB/sec)."),
    3035: (16, 1, 'Cannot perform a differential backup for database "%s", because a current '
                  "database backup does not exist. Perform a full database backup by reissuing "
                  "BACKUP DATABASE, omitting the WITH DIFFERENTIAL option."),
    3104: (16, 1, "RESTORE cannot operate on database '%s' because it is configured for database mirroring or "
                  "has joined an availability group. If you intend to restore the database, use ALTER DATABASE to "
                  "remove mirroring or to remove the database from its availability group."),
    3153: (16, 1, "The database is already fully recovered."),
    3147: (16, 3, "Backup and restore operations are not allowed on database tempdb."),
    3211: (10, 1, "%s percent processed."),
    3701: (11, 1, "Cannot drop the %s '%s', because it does not exist or you do not have permission."),
    3702: (16, 4, 'Cannot drop database "%s" because it is currently in use.'),
    3708: (16, 1, "Cannot drop the database '%s' because it is a system database."),
    3752: (16, 1, "The database '%s' is currently joined to an availability group.  Before you can "
                  "drop the database, you need to remove it from the availability group."),
    4035: (10, 1, "Processed %s pages for database '%s', file '%s' on file %s."),
    4208: (16, 1, "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use "
                  "BACKUP DATABASE or change the recovery model using ALTER DATABASE."),
    4214: (16, 1, "BACKUP LOG cannot be performed because there is no current database backup."),
    5011: (14, 5, "User does not have permission to alter database '%s', the database does not "
                  "exist, or the database is not in a state that allows access checks."),
    5058: (16, 1, "Option '%s' cannot be set in database '%s'."),
    7862: (16, 1, "An endpoint of the requested type already exists.  Only one endpoint of this type "
                  "is supported.  Use ALTER ENDPOINT or DROP the existing endpoint and execute the "
                  "CREATE ENDPOINT command."),
    8134: (16, 1, "Divide by zero error encountered."),
    6104: (16, 1, "Cannot use KILL to kill your own process."),
    6106: (16, 2, "Process ID %s is not an active process ID."),
    8144: (16, 2, "Procedure or function %s has too many arguments specified."),
    8145: (16, 2, "%s is not a parameter for procedure %s."),
    15025: (16, 1, "The server principal '%s' already exists."),
    15123: (16, 1, "The configuration option '%s' does not exist, or it may be an advanced option."),
    15124: (16, 1, "The configuration option '%s' is not unique."),
    15129: (16, 1, "'%s' is not a valid value for configuration option '%s'."),
    15151: (16, 1, "Cannot %s the %s '%s', because it does not exist or you do not have permission."),
    15208: (16, 1, "The certificate, asymmetric key, or private key file does not exist or has "
                   "invalid format."),
    15232: (16, 1, "A certificate with name '%s' already exists or this certificate already has been "
                   "added to the database."),
    15247: (16, 1, "User does not have permission to perform this action."),
    15297: (16, 1, "The certificate, asymmetric key, or private key data is invalid."),
    15352: (16, 1, "The %s cannot be dropped because one or more entities are either signed or "
                   "encrypted using it."),
    15457: (10, 1, "Configuration option '%s' changed from %s to %s. Run the RECONFIGURE statement to "
                   "install."),
    15578: (16, 1, "There is already a master key in the database. Please drop it before performing "
                   "this statement."),
    15580: (16, 1, "Cannot drop master key because %s '%s' is encrypted by it."),
    15581: (16, 3, "Please create a master key in the database or open the master key in the session "
                   "before performing this operation."),
    18456: (14, 1, "Login failed for user '%s'."),
    19499: (16, 1, "The specified listener URL '%s' is invalid. Reenter the command specifying the correct "
                   "URL. For information about specifying the endpoint URL for an availability replica, see "
                   "SQL Server Books Online."),
    19501: (16, 1, "None of the specified availability groups exist locally. Please check your DDL and make "
                   "sure there is one availability group exist locally."),
    19508: (16, 1, "'ALTER AVAILABILITY GROUP MODIFY AVAILABILITY GROUP' command failed. Participant "
                   "availability replica '%s' not found in the distributed availability group '%s'."),
    19511: (16, 1, "Cannot join distributed availability group '%s'. The local availability group '%s' "
                   "contains one or more databases. Remove all the databases or create an empty availability "
                   "group to join a distributed availability group."),
    19509: (16, 1, "Cannot create a distributed availability group '%s'. An availability group with the same "
                   "name already exists."),
    # 35221 (not 35220, which is the WSFC "waiting for the cluster" error) is HADR disabled
    35221: (16, 1, "Could not process the operation. Always On Availability Groups replica manager is "
                   "disabled on this instance of SQL Server. Enable Always On Availability Groups, by "
                   "using the SQL Server Configuration Manager. Then, restart the SQL Server service, "
                   "and retry the currently operation. For information about how to enable and "
                   "disable Always On Availability Groups, see SQL Server Books Online."),
    35237: (16, 1, "None of the specified replicas for availability group %s maps to the instance of "
                   "SQL Server to which you are connected. Reenter the command, specifying this "
                   "server instance to host one of the replicas. This replica will be the initial "
                   "primary replica."),
    35238: (16, 1, "Database '%s' cannot be added to availability group '%s'. The database does not "
                   "exist on this SQL Server instance. Verify that the database name is correct, then "
                   "retry the operation."),
    35244: (16, 1, "Database '%s' cannot be added to availability group '%s'. The database is "
                   "currently joined to another availability group. Verify that the database name is "
                   "correct and that the database is not joined to an availability group, then retry "
                   "the operation."),
    35249: (16, 1, "An attempt to add or join a system database, '%s', to an availability group "
                   "failed. Specify only user databases for this operation."),
    35251: (16, 1, "This command can be run only on the primary replica. Connect to the primary "
                   "replica, and retry the command."),
    35280: (16, 1, "Database '%s' cannot be added to availability group '%s'. The database is already "
                   "joined to the specified availability group. Verify that the database name is "
                   "correct and that the database is not joined to an availability group, then retry "
                   "the operation."),
    35281: (16, 1, "Database '%s' cannot be removed from availability group '%s'. The database is not "
                   "joined to the specified availability group. Verify that the database name and the "
                   "availability group name are correct, then retry the operation."),
    41042: (16, 1, "The availability group '%s' already exists. This error could be caused by a "
                   "previous failed CREATE AVAILABILITY GROUP or DROP AVAILABILITY GROUP operation. If "
                   "the availability group name you specified is correct, try waiting for the "
                   "availability group to be dropped, and then retry the operation."),
    141: (15, 1, "A SELECT statement that assigns a value to a variable must not be combined with "
                 "data-retrieval operations."),
    259: (16, 1, "Ad hoc updates to system catalogs are not allowed."),
    50000: (16, 1, "%s"),
}

# Errors that end the whole batch (compile-time name resolution and similar) rather than only
# the statement; everything else lets the batch continue, as SQL Server does.
BATCH_ABORTING = {102, 103, 105, 134, 137, 141, 156, 174, 195, 207, 208, 209, 259, 40517}


class TsqlError(SqlError):
    """A SqlError that also knows whether it aborts the rest of the batch."""

    def __init__(self, number: int, text: str, severity: int = 16, state: int = 1,
                 batch_abort: bool | None = None, extra: list[SqlError] | None = None) -> None:
        super().__init__(number, text, severity, state)
        self.number = number
        self.batch_abort = number in BATCH_ABORTING if batch_abort is None else batch_abort
        self.extra = extra or []  # follow-up errors (e.g. 3013 after a BACKUP failure)


def sql_error(number: int, *args: object, state: int | None = None, severity: int | None = None,
              batch_abort: bool | None = None) -> TsqlError:
    """Build the error ``number`` with its real text; unknown numbers use the first arg as text."""
    sev, default_state, template = MESSAGES.get(number, (16, 1, "%s"))
    text = template % tuple(str(a) for a in args) if args else template
    return TsqlError(number, text, severity if severity is not None else sev,
                     state if state is not None else default_state, batch_abort)


def info_text(number: int, *args: object) -> str:
    """The text of an informational message (severity <= 10)."""
    return MESSAGES[number][2] % tuple(str(a) for a in args)


def syntax_error(near: str) -> TsqlError:
    """102 for ordinary tokens, 156 for reserved keywords (what the parser reports)."""
    if near.upper() in RESERVED:
        return sql_error(156, near)
    return sql_error(102, near)


# The T-SQL reserved keywords (error 156 instead of 102 when a syntax error is near one).
RESERVED = frozenset("""
ADD ALL ALTER AND ANY AS ASC AUTHORIZATION BACKUP BEGIN BETWEEN BREAK BROWSE BULK BY CASCADE CASE
CHECK CHECKPOINT CLOSE CLUSTERED COALESCE COLLATE COLUMN COMMIT COMPUTE CONSTRAINT CONTAINS
CONTAINSTABLE CONTINUE CONVERT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP
CURRENT_USER CURSOR DATABASE DBCC DEALLOCATE DECLARE DEFAULT DELETE DENY DESC DISK DISTINCT
DISTRIBUTED DOUBLE DROP DUMP ELSE END ERRLVL ESCAPE EXCEPT EXEC EXECUTE EXISTS EXIT EXTERNAL FETCH
FILE FILLFACTOR FOR FOREIGN FREETEXT FREETEXTTABLE FROM FULL FUNCTION GOTO GRANT GROUP HAVING
HOLDLOCK IDENTITY IDENTITY_INSERT IDENTITYCOL IF IN INDEX INNER INSERT INTERSECT INTO IS JOIN KEY
KILL LEFT LIKE LINENO LOAD MERGE NATIONAL NOCHECK NONCLUSTERED NOT NULL NULLIF OF OFF OFFSETS ON
OPEN OPENDATASOURCE OPENQUERY OPENROWSET OPENXML OPTION OR ORDER OUTER OVER PERCENT PIVOT PLAN
PRECISION PRIMARY PRINT PROC PROCEDURE PUBLIC RAISERROR READ READTEXT RECONFIGURE REFERENCES
REPLICATION RESTORE RESTRICT RETURN REVERT REVOKE RIGHT ROLLBACK ROWCOUNT ROWGUIDCOL RULE SAVE
SCHEMA SECURITYAUDIT SELECT SEMANTICKEYPHRASETABLE SEMANTICSIMILARITYDETAILSTABLE
SEMANTICSIMILARITYTABLE SESSION_USER SET SETUSER SHUTDOWN SOME STATISTICS SYSTEM_USER TABLE
TABLESAMPLE TEXTSIZE THEN TO TOP TRAN TRANSACTION TRIGGER TRUNCATE TRY_CONVERT TSEQUAL UNION UNIQUE
UNPIVOT UPDATE UPDATETEXT USE USER VALUES VARYING VIEW WAITFOR WHEN WHERE WHILE WITH WITHIN
WRITETEXT
""".split())
