"""Script export: sqlcmd T-SQL, Azure PowerShell, az CLI, and a Markdown runbook tying them together.

Exported scripts never contain a secret: the master key password is the sqlcmd variable
``$(MasterKeyPassword)``, passed with ``sqlcmd -v`` when the script runs. Public certificate
blobs are not secrets and are embedded when known.
"""

from __future__ import annotations

from . import statements as st
from .plan import LinkPlan
from .tsql import quote_literal

SECRET_VARS = ("MasterKeyPassword",)


def _ps(text: str) -> str:
    """A PowerShell single-quoted string."""
    return "'" + text.replace("'", "''") + "'"


def _sh(text: str) -> str:
    """A POSIX shell single-quoted string."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def tsql(plan: LinkPlan, mi_certificate_hex: str | None = None) -> str:
    """The SQL Server side as one sqlcmd-mode script with GO batches and IF NOT EXISTS guards."""
    cert_var = mi_certificate_hex or "$(ManagedInstanceCertificate)"
    lines = [
        "-- milink: SQL Server side of the Managed Instance link",
        f"-- SQL Server {plan.sql_server_name} -> managed instance {plan.mi.name} ({plan.mi.fqdn})",
        "-- Run in sqlcmd mode. Secrets are never stored here; pass them on the command line:",
        "--   sqlcmd -S <server> -i this.sql -v MasterKeyPassword=\"<strong password>\""
        + ("" if mi_certificate_hex else " ManagedInstanceCertificate=0x<from the Azure step>"),
        ":on error exit",
        "",
        "USE master;",
        "GO",
        "-- 1. Database master key (protects the endpoint certificate's private key)",
        "IF NOT EXISTS (SELECT 1 FROM sys.symmetric_keys WHERE symmetric_key_id = 101)",
        "    " + st.create_master_key("N'$(MasterKeyPassword)'"),
        "GO",
        "-- 2. Endpoint certificate",
        f"IF NOT EXISTS (SELECT 1 FROM sys.certificates WHERE name = {quote_literal(plan.certificate_name)})",
        "BEGIN",
        _indent(st.create_certificate(plan)),
        "END",
        "GO",
        "-- 3. Database mirroring endpoint secured with the certificate",
        "IF NOT EXISTS (SELECT 1 FROM sys.database_mirroring_endpoints)",
        "BEGIN",
        _indent(st.create_endpoint(plan)),
        "END",
        "GO",
        "-- 4. Export the certificate's public key: upload it to the managed instance (Azure step 1)",
        st.export_certificate(plan),
        "GO",
        "-- 5. Trust the managed instance: its endpoint certificate, named exactly as its FQDN",
        f"IF NOT EXISTS (SELECT 1 FROM sys.certificates WHERE name = {quote_literal(plan.mi.fqdn)})",
        "    " + st.import_mi_certificate(plan, cert_var),
        "GO",
        "-- 6. Azure root certificates (import MicrosoftPKI and DigiCertPKI from the published root CAs),",
        "--    bound to *.database.windows.net with sp_certificate_add_issuer. See the runbook.",
        "",
    ]
    for spec in plan.links:
        lines += [f"-- Link {spec.link_name} for database {spec.database}"]
        if plan.direction == "sql-first":
            lines += [
                "-- full backup (starts the log chain: avoids error 1475)",
                st.full_backup(plan, spec.database),
                "GO",
            ]
        lines += [
            f"IF NOT EXISTS (SELECT 1 FROM sys.availability_groups WHERE name = {quote_literal(spec.sql_ag)})",
            "BEGIN",
            _indent(st.create_ag(plan, spec)),
            "END",
            "GO",
            f"IF NOT EXISTS (SELECT 1 FROM sys.availability_groups WHERE name = {quote_literal(spec.link_name)})",
            "BEGIN",
            _indent(st.create_dag(plan, spec)),
            "END",
            "GO",
            "",
        ]
    lines += [
        "-- Verify: CONNECTED once the managed instance has joined (Azure step 3)",
        "SELECT r.replica_server_name, r.endpoint_url, rs.connected_state_desc,",
        "       rs.last_connect_error_number, rs.last_connect_error_description",
        "FROM sys.dm_hadr_availability_replica_states rs",
        "JOIN sys.availability_replicas r ON rs.replica_id = r.replica_id;",
        "GO",
    ]
    return "\n".join(lines) + "\n"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def powershell(plan: LinkPlan, sql_public_key: str | None = None) -> str:
    """The Azure side with Az.Sql (6.0+ parameter names)."""
    key = _ps(sql_public_key) if sql_public_key else "'<SQLServerPublicKey from T-SQL step 4, 0x...>'"
    out = [
        "# milink: Azure side of the Managed Instance link (Az.Sql 6.0 or later)",
        f"$ResourceGroup = {_ps(plan.mi.resource_group)}",
        f"$ManagedInstanceName = {_ps(plan.mi.name)}",
        f"Set-AzContext -Subscription {_ps(plan.mi.subscription_id)} | Out-Null",
        "",
        "# 1. Upload the SQL Server endpoint certificate as a server trust certificate",
        "New-AzSqlInstanceServerTrustCertificate -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName `",
        f"    -Name {_ps(plan.certificate_name)} -PublicKey {key}",
        "",
        "# 2. The managed instance endpoint certificate (import it on SQL Server as T-SQL step 5)",
        "(Get-AzSqlInstanceEndpointCertificate -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName `",
        "    -EndpointType 'DATABASE_MIRRORING').PublicKey",
        "",
    ]
    for spec in plan.links:
        out += [
            f"# 3. Join the link {spec.link_name} (database {spec.database})",
            "New-AzSqlInstanceLink -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName `",
            f"    -Name {_ps(spec.link_name)} -Database {_ps(spec.database)} `",
            f"    -PartnerAvailabilityGroupName {_ps(spec.sql_ag)} -InstanceAvailabilityGroupName {_ps(spec.mi_ag)} `",
            f"    -PartnerEndpoint {_ps(plan.sql_endpoint_url)} -InstanceLinkRole {_ps(plan.mi_role)} `",
            f"    -FailoverMode {_ps(plan.failover_mode)} -SeedingMode {_ps(plan.seeding_mode)}",
            "",
        ]
    out += ["# Verify", "Get-AzSqlInstanceLink -ResourceGroupName $ResourceGroup -InstanceName $ManagedInstanceName |",
            "    Select-Object Name, InstanceLinkRole, PartnerLinkRole, Databases"]
    return "\n".join(out) + "\n"


def az_cli(plan: LinkPlan, sql_public_key: str | None = None) -> str:
    """The Azure side with the az CLI (2.67+ argument names)."""
    key = _sh(sql_public_key) if sql_public_key else '"$SQL_SERVER_PUBLIC_KEY"'
    rg, mi = _sh(plan.mi.resource_group), _sh(plan.mi.name)
    out = [
        "#!/usr/bin/env bash",
        "# milink: Azure side of the Managed Instance link (az CLI 2.67 or later)",
        "set -euo pipefail",
        f"az account set --subscription {_sh(plan.mi.subscription_id)}",
        "",
        "# 1. Upload the SQL Server endpoint certificate" + ("" if sql_public_key else
                                                            " (SQL_SERVER_PUBLIC_KEY from T-SQL step 4)"),
        f"az sql mi partner-cert create -g {rg} --instance-name {mi} -n {_sh(plan.certificate_name)} \\",
        f"    --public-blob {key}",
        "",
        "# 2. The managed instance endpoint certificate (prepend 0x; import with T-SQL step 5)",
        f"az sql mi endpoint-cert show -g {rg} --instance-name {mi} -n DATABASE_MIRRORING --query publicBlob -o tsv",
        "",
    ]
    for spec in plan.links:
        out += [
            f"# 3. Join the link {spec.link_name} (database {spec.database})",
            f"az sql mi link create -g {rg} --instance-name {mi} --name {_sh(spec.link_name)} \\",
            f"    --databases {_sh(repr([spec.database]))} \\",
            f"    --partner-ag-name {_sh(spec.sql_ag)} --instance-ag-name {_sh(spec.mi_ag)} \\",
            f"    --partner-endpoint {_sh(plan.sql_endpoint_url)} --instance-link-role {plan.mi_role} \\",
            f"    --failover-mode {plan.failover_mode} --seeding-mode {plan.seeding_mode}",
            "",
        ]
    out += ["# Verify", f"az sql mi link list -g {rg} --instance-name {mi} -o table"]
    return "\n".join(out) + "\n"


def runbook(plan: LinkPlan) -> str:
    """A Markdown runbook: the order, the commands, and how to verify each step."""
    names = ", ".join(f"`{s.link_name}` ({s.database})" for s in plan.links)
    return f"""# Managed Instance link runbook

- SQL Server: `{plan.sql_server_name}` reachable at `{plan.sql_endpoint_url}`
- Managed instance: `{plan.mi.name}` (`{plan.mi.fqdn}`), resource group `{plan.mi.resource_group}`
- Direction: {"SQL Server is the initial primary" if plan.direction == "sql-first" else
              "the managed instance is the initial primary"}; replication {plan.replication_mode}; failover mode
  {plan.failover_mode}
- Links: {names}

Secrets are not in these files. Keep the master key password in your password manager and pass it to
sqlcmd with `-v MasterKeyPassword=...`.

## Steps

1. **SQL Server, T-SQL steps 1–4** (`link.sql` up to the certificate export): master key, endpoint
   certificate, mirroring endpoint. Copy the `SQLServerPublicKey` value.
2. **Azure step 1**: upload that public key as server trust certificate `{plan.certificate_name}`
   (`link.ps1` or `link.azcli.sh`).
3. **Azure step 2**: read the managed instance's `DATABASE_MIRRORING` endpoint certificate.
4. **SQL Server, T-SQL step 5–6**: import it as `[{plan.mi.fqdn}]`; import the Azure root certificates.
5. **SQL Server, the rest of `link.sql`**: full backup, availability group, distributed availability group.
6. **Azure step 3**: create the link on the managed instance.
7. **Verify** on SQL Server (may take a minute to show CONNECTED):

   ```sql
   SELECT ag.name, ars.connected_state_desc, ars.synchronization_health_desc, drs.synchronization_state_desc
   FROM sys.availability_groups ag
   JOIN sys.dm_hadr_availability_replica_states ars ON ars.group_id = ag.group_id AND ars.is_local = 0
   LEFT JOIN sys.dm_hadr_database_replica_states drs ON drs.replica_id = ars.replica_id
   WHERE ag.is_distributed = 1;
   ```

8. **After seeding completes** (the managed instance database is no longer *Restoring*), take the
   first log backup on SQL Server, then keep regular log backups: the log cannot truncate until it
   has been shipped. Do not take log backups while seeding runs unless trace flag 12381 is on.
"""


def all_scripts(plan: LinkPlan) -> dict[str, str]:
    """File name → content, as the Script viewer's tabs and the export folder."""
    return {
        "link.sql": tsql(plan),
        "link.ps1": powershell(plan),
        "link.azcli.sh": az_cli(plan),
        "RUNBOOK.md": runbook(plan),
    }
