"""The T-SQL of every link step, built from a plan. One source for the executor and the scripts.

Secrets are passed in as *expressions*: the executor gives a quoted literal, the exported
script gives a sqlcmd variable such as ``$(MasterKeyPassword)``. Every identifier goes through
``quote_name`` and every string through ``quote_literal``; nothing else reaches the text.
"""

from __future__ import annotations

from .plan import LinkPlan, LinkSpec
from .tsql import quote_binary, quote_literal, quote_name

AZURE_ISSUER = "*.database.windows.net"
ROOT_CERTIFICATES = {  # name in master → label in the CA bundle
    "MicrosoftPKI": "Microsoft RSA Root Certificate Authority 2017",
    "DigiCertPKI": "DigiCert Global Root G2",
}


def create_master_key(password_expr: str) -> str:
    return f"CREATE MASTER KEY ENCRYPTION BY PASSWORD = {password_expr};"


def create_certificate(plan: LinkPlan) -> str:
    subject = f"Certificate for {plan.certificate_name}"
    expiry = plan.certificate_expiry.strftime("%m/%d/%Y")
    return (f"CREATE CERTIFICATE {quote_name(plan.certificate_name)}\n"
            f"    WITH SUBJECT = {quote_literal(subject)},\n"
            f"    EXPIRY_DATE = {quote_literal(expiry)};")


def export_certificate(plan: LinkPlan) -> str:
    return (f"SELECT CERTENCODED(CERT_ID({quote_literal(plan.certificate_name)})) AS SQLServerPublicKey;")


def create_endpoint(plan: LinkPlan) -> str:
    return (f"CREATE ENDPOINT {quote_name(plan.endpoint_name)}\n"
            f"    STATE = STARTED\n"
            f"    AS TCP (LISTENER_PORT = {int(plan.endpoint_port)}, LISTENER_IP = ALL)\n"
            f"    FOR DATABASE_MIRRORING (\n"
            f"        ROLE = ALL,\n"
            f"        AUTHENTICATION = CERTIFICATE {quote_name(plan.certificate_name)},\n"
            f"        ENCRYPTION = REQUIRED ALGORITHM AES\n"
            f"    );")


def alter_endpoint(plan: LinkPlan) -> str:
    """Keeps Windows authentication for existing AGs and adds the certificate (domain.md §4.3)."""
    return (f"ALTER ENDPOINT {quote_name(plan.endpoint_name)}\n"
            f"    STATE = STARTED\n"
            f"    AS TCP (LISTENER_PORT = {int(plan.endpoint_port)}, LISTENER_IP = ALL)\n"
            f"    FOR DATABASE_MIRRORING (\n"
            f"        ROLE = ALL,\n"
            f"        AUTHENTICATION = WINDOWS NEGOTIATE CERTIFICATE {quote_name(plan.certificate_name)},\n"
            f"        ENCRYPTION = REQUIRED ALGORITHM AES\n"
            f"    );")


def import_root_certificate(name: str, der_expr: str) -> str:
    return (f"CREATE CERTIFICATE {quote_name(name)} FROM BINARY = {der_expr};\n"
            f"DECLARE @cert_id int = CERT_ID({quote_literal(name)});\n"
            f"EXEC sp_certificate_add_issuer @cert_id, {quote_literal(AZURE_ISSUER)};")


def import_mi_certificate(plan: LinkPlan, der_expr: str) -> str:
    """The managed instance's endpoint certificate, named exactly as its FQDN (required)."""
    return f"CREATE CERTIFICATE {quote_name(plan.mi.fqdn)} FROM BINARY = {der_expr};"


def create_ag(plan: LinkPlan, spec: LinkSpec, with_cluster_type: bool = True) -> str:
    cluster = "WITH (CLUSTER_TYPE = NONE)\n" if with_cluster_type else ""
    replica = (f"    REPLICA ON {quote_literal(plan.sql_server_name)} WITH (\n"
               f"        ENDPOINT_URL = {quote_literal(plan.sql_endpoint_url)},\n"
               f"        AVAILABILITY_MODE = SYNCHRONOUS_COMMIT,\n"
               f"        FAILOVER_MODE = MANUAL,\n"
               f"        SEEDING_MODE = AUTOMATIC\n"
               f"    );")
    if plan.direction == "mi-first":
        return (f"CREATE AVAILABILITY GROUP {quote_name(spec.sql_ag)}\n{cluster}FOR\n{replica}\n"
                f"ALTER AVAILABILITY GROUP {quote_name(spec.sql_ag)} GRANT CREATE ANY DATABASE;")
    return (f"CREATE AVAILABILITY GROUP {quote_name(spec.sql_ag)}\n{cluster}"
            f"FOR DATABASE {quote_name(spec.database)}\n{replica}")


def create_dag(plan: LinkPlan, spec: LinkSpec) -> str:
    mode = "SYNCHRONOUS_COMMIT" if plan.replication_mode == "Sync" else "ASYNCHRONOUS_COMMIT"
    return (f"CREATE AVAILABILITY GROUP {quote_name(spec.link_name)}\n"
            f"WITH (DISTRIBUTED)\n"
            f"    AVAILABILITY GROUP ON\n"
            f"    {quote_literal(spec.sql_ag)} WITH (\n"
            f"        LISTENER_URL = {quote_literal(plan.sql_endpoint_url)},\n"
            f"        AVAILABILITY_MODE = {mode},\n"
            f"        FAILOVER_MODE = MANUAL,\n"
            f"        SEEDING_MODE = AUTOMATIC,\n"
            f"        SESSION_TIMEOUT = 20\n"
            f"    ),\n"
            f"    {quote_literal(spec.mi_ag)} WITH (\n"
            f"        LISTENER_URL = {quote_literal(plan.mi_listener_url(spec))},\n"
            f"        AVAILABILITY_MODE = {mode},\n"
            f"        FAILOVER_MODE = MANUAL,\n"
            f"        SEEDING_MODE = AUTOMATIC\n"
            f"    );")


def full_backup(plan: LinkPlan, database: str) -> str:
    return (f"BACKUP DATABASE {quote_name(database)} TO DISK = {quote_literal(plan.backup_path)} "
            f"WITH CHECKSUM, COMPRESSION;")


def drop(kind: str, name: str) -> str:
    """Undo statements: DROP AVAILABILITY GROUP / ENDPOINT / CERTIFICATE / MASTER KEY / DATABASE."""
    if kind == "MASTER KEY":
        return "DROP MASTER KEY;"
    return f"DROP {kind} {quote_name(name)};"


def link_body(plan: LinkPlan, spec: LinkSpec) -> dict:
    """The ARM PUT body for one link (wire names)."""
    return {"properties": {
        "databases": [{"databaseName": spec.database}],
        "partnerEndpoint": plan.sql_endpoint_url,
        "instanceAvailabilityGroupName": spec.mi_ag,
        "partnerAvailabilityGroupName": spec.sql_ag,
        "instanceLinkRole": plan.mi_role,
        "failoverMode": plan.failover_mode,
        "seedingMode": plan.seeding_mode,
        "replicationMode": plan.replication_mode,
    }}


def hex_blob(der: bytes) -> str:
    return quote_binary(der)
