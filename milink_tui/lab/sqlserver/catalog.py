"""The catalog views and DMVs the simulated server exposes: real column names, order, types,
nullability and the version that added each column (from shared/reference/catalog.md).

Each view is declared as a compact text table so it can be read side by side with the
reference. Renderers in :mod:`render` only supply the values that differ from the per-column
defaults declared here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from ..tds.backend import SqlType
from .sqltypes import parse_type

SERVER = "server"  # one table for the instance, reachable from any database
DATABASE = "database"  # one table per database ([db].sys.x)
MSDB = "msdb"  # msdb.dbo.x


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: SqlType
    nullable: bool
    min_major: int = 0
    default: Any = None


@dataclass
class ViewDef:
    key: str  # 'sys.databases' / 'dbo.backupset'
    scope: str
    columns: list[ColumnDef]
    dmv: bool = False  # needs VIEW SERVER STATE
    min_major: int = 0
    defaults: dict[str, Any] = field(default_factory=dict)

    def columns_for(self, major: int) -> list[ColumnDef]:
        return [c for c in self.columns if c.min_major <= major]


def _cols(spec: str) -> list[ColumnDef]:
    """Parse lines 'name type [N] [>=15] [=default]' (N = NOT NULL)."""
    out = []
    for line in spec.strip().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        default: Any = None
        if " =" in line:
            line, raw = line.split(" =", 1)
            default = ast.literal_eval(raw.strip())
        parts = line.split()
        name, type_text, flags = parts[0], parts[1], parts[2:]
        min_major = 0
        for f in flags:
            if f.startswith(">="):
                min_major = int(f[2:])
        out.append(ColumnDef(name, parse_type(type_text, default_length=1), "N" not in flags, min_major,
                             default))
    return out


VIEWS: dict[str, ViewDef] = {}


def view(key: str, scope: str, spec: str, dmv: bool = False, min_major: int = 0) -> ViewDef:
    cols = _cols(spec)
    v = ViewDef(key, scope, cols, dmv, min_major, {c.name: c.default for c in cols})
    VIEWS[key] = v
    return v


view("sys.databases", SERVER, """
name sysname N
database_id int N
source_database_id int
owner_sid varbinary(85) =b'\\x01'
create_date datetime N
compatibility_level tinyint N
collation_name sysname
user_access tinyint =0
user_access_desc nvarchar(60) ='MULTI_USER'
is_read_only bit =False
is_auto_close_on bit N =False
is_auto_shrink_on bit =False
state tinyint =0
state_desc nvarchar(60) ='ONLINE'
is_in_standby bit =False
is_cleanly_shutdown bit =False
is_supplemental_logging_enabled bit =False
snapshot_isolation_state tinyint =0
snapshot_isolation_state_desc nvarchar(60) ='OFF'
is_read_committed_snapshot_on bit =False
recovery_model tinyint =1
recovery_model_desc nvarchar(60) ='FULL'
page_verify_option tinyint =2
page_verify_option_desc nvarchar(60) ='CHECKSUM'
is_auto_create_stats_on bit =True
is_auto_create_stats_incremental_on bit =False
is_auto_update_stats_on bit =True
is_auto_update_stats_async_on bit =False
is_ansi_null_default_on bit =False
is_ansi_nulls_on bit =False
is_ansi_padding_on bit =False
is_ansi_warnings_on bit =False
is_arithabort_on bit =False
is_concat_null_yields_null_on bit =False
is_numeric_roundabort_on bit =False
is_quoted_identifier_on bit =False
is_recursive_triggers_on bit =False
is_cursor_close_on_commit_on bit =False
is_local_cursor_default bit =False
is_fulltext_enabled bit =True
is_trustworthy_on bit =False
is_db_chaining_on bit =False
is_parameterization_forced bit =False
is_master_key_encrypted_by_server bit N =False
is_query_store_on bit =False
is_published bit N =False
is_subscribed bit N =False
is_merge_published bit N =False
is_distributor bit N =False
is_sync_with_backup bit N =False
service_broker_guid uniqueidentifier N
is_broker_enabled bit N =False
log_reuse_wait tinyint =0
log_reuse_wait_desc nvarchar(60) ='NOTHING'
is_date_correlation_on bit N =False
is_cdc_enabled bit N =False
is_encrypted bit =False
is_honor_broker_priority_on bit =False
replica_id uniqueidentifier
group_database_id uniqueidentifier
resource_pool_id int
default_language_lcid smallint
default_language_name nvarchar(128)
default_fulltext_language_lcid int
default_fulltext_language_name nvarchar(128)
is_nested_triggers_on bit
is_transform_noise_words_on bit
two_digit_year_cutoff smallint
containment tinyint =0
containment_desc nvarchar(60) ='NONE'
target_recovery_time_in_seconds int =60
delayed_durability int =0
delayed_durability_desc nvarchar(60) ='DISABLED'
is_memory_optimized_elevate_to_snapshot_on bit =False
is_federation_member bit =False
is_remote_data_archive_enabled bit =False
is_mixed_page_allocation_on bit =False
is_temporal_history_retention_enabled bit >=14 =True
catalog_collation_type int N >=15 =0
catalog_collation_type_desc nvarchar(60) >=15 ='DATABASE_DEFAULT'
physical_database_name nvarchar(128) >=15
is_result_set_caching_on bit >=15 =False
is_accelerated_database_recovery_on bit >=15 =False
is_tempdb_spill_to_remote_store bit >=15 =False
is_stale_page_detection_on bit >=15 =False
is_memory_optimized_enabled bit >=15 =True
is_data_retention_enabled bit >=16 =False
is_ledger_on bit >=16 =False
is_change_feed_enabled bit >=16 =False
is_data_lake_replication_enabled bit >=17 =False
is_event_stream_enabled bit >=17 =False
data_compaction int >=17 =0
data_compaction_desc nvarchar(60) >=17 ='NONE'
data_lake_log_publishing int >=17 =0
data_lake_log_publishing_desc nvarchar(60) >=17 ='UNAVAILABLE'
is_vorder_enabled bit >=17 =False
is_proactive_statistics_refresh_on bit >=17 =False
is_optimized_locking_on bit >=17 =False
""")

_FILE_COLUMNS = """
file_id int N
file_guid uniqueidentifier
type tinyint N
type_desc nvarchar(60)
data_space_id int N
name sysname
physical_name nvarchar(260) {physical_null}
state tinyint =0
state_desc nvarchar(60) ='ONLINE'
size int N
max_size int N =-1
growth int N =8192
is_media_read_only bit N =False
is_read_only bit N =False
is_sparse bit N =False
is_percent_growth bit N =False
is_name_reserved bit N =False
is_persistent_log_buffer bit N =False
create_lsn numeric(25,0)
drop_lsn numeric(25,0)
read_only_lsn numeric(25,0)
read_write_lsn numeric(25,0)
differential_base_lsn numeric(25,0)
differential_base_guid uniqueidentifier
differential_base_time datetime
redo_start_lsn numeric(25,0)
redo_start_fork_guid uniqueidentifier
redo_target_lsn numeric(25,0)
redo_target_fork_guid uniqueidentifier
backup_lsn numeric(25,0)
"""

view("sys.database_files", DATABASE, _FILE_COLUMNS.format(physical_null=""))
view("sys.master_files", SERVER, "database_id int N\n" + _FILE_COLUMNS.format(physical_null="N")
     + "credential_id int\n")

view("sys.filegroups", DATABASE, """
name sysname N
data_space_id int N
type char(2) N ='FG'
type_desc nvarchar(60) ='ROWS_FILEGROUP'
is_default bit =False
is_system bit =False
filegroup_guid uniqueidentifier
log_filegroup_id int
is_read_only bit =False
is_autogrow_all_files bit >=13 =False
""")

view("sys.tables", DATABASE, """
name sysname N
object_id int N
principal_id int
schema_id int N =1
parent_object_id int N =0
type char(2) ='U'
type_desc nvarchar(60) ='USER_TABLE'
create_date datetime N
modify_date datetime N
is_ms_shipped bit N =False
is_published bit N =False
is_schema_published bit N =False
lob_data_space_id int N =0
filestream_data_space_id int
max_column_id_used int N =2
lock_on_bulk_load bit N =False
uses_ansi_nulls bit =True
is_replicated bit =False
has_replication_filter bit =False
is_merge_published bit =False
is_sync_tran_subscribed bit =False
has_unchecked_assembly_data bit N =False
text_in_row_limit int =0
large_value_types_out_of_row bit =False
is_tracked_by_cdc bit =False
lock_escalation tinyint =0
lock_escalation_desc nvarchar(60) ='TABLE'
is_filetable bit =False
is_memory_optimized bit =False
durability tinyint =0
durability_desc nvarchar(60) ='SCHEMA_AND_DATA'
temporal_type tinyint =0
temporal_type_desc nvarchar(60) ='NON_TEMPORAL_TABLE'
history_table_id int
is_remote_data_archive_enabled bit =False
is_external bit N =False
history_retention_period int >=14
history_retention_period_unit int >=14
history_retention_period_unit_desc nvarchar(10) >=14
is_node bit >=14 =False
is_edge bit >=14 =False
data_retention_period int >=16
data_retention_period_unit int >=16
data_retention_period_unit_desc nvarchar(10) >=16
ledger_type tinyint >=16 =0
ledger_type_desc nvarchar(60) >=16 ='NON_LEDGER_TABLE'
ledger_view_id int >=16
is_dropped_ledger_table bit >=16 =False
""")

view("sys.schemas", DATABASE, """
name sysname N
schema_id int N
principal_id int
""")

view("dbo.backupset", MSDB, """
backup_set_id int N
backup_set_uuid uniqueidentifier N
media_set_id int N
first_family_number tinyint =1
last_family_number tinyint =1
first_media_number smallint =1
last_media_number smallint =1
catalog_family_number tinyint =1
catalog_media_number smallint =1
position int =1
expiration_date datetime
software_vendor_id int =4608
name nvarchar(128)
description nvarchar(255)
user_name nvarchar(128)
software_major_version tinyint
software_minor_version tinyint =0
software_build_version smallint
time_zone smallint =0
mtf_minor_version tinyint =0
first_lsn numeric(25,0)
last_lsn numeric(25,0)
checkpoint_lsn numeric(25,0)
database_backup_lsn numeric(25,0)
database_creation_date datetime
backup_start_date datetime
backup_finish_date datetime
type char(1)
sort_order smallint =52
code_page smallint =0
compatibility_level tinyint
database_version int
backup_size numeric(20,0)
database_name nvarchar(128)
server_name nvarchar(128)
machine_name nvarchar(128)
flags int =512
unicode_locale int =1033
unicode_compare_style int =196609
collation_name nvarchar(128)
is_password_protected bit =False
recovery_model nvarchar(60)
has_bulk_logged_data bit =False
is_snapshot bit =False
is_readonly bit =False
is_single_user bit =False
has_backup_checksums bit =False
is_damaged bit =False
begins_log_chain bit =False
has_incomplete_metadata bit =False
is_force_offline bit =False
is_copy_only bit =False
first_recovery_fork_guid uniqueidentifier
last_recovery_fork_guid uniqueidentifier
fork_point_lsn numeric(25,0)
database_guid uniqueidentifier
family_guid uniqueidentifier
differential_base_lsn numeric(25,0)
differential_base_guid uniqueidentifier
compressed_backup_size numeric(20,0)
key_algorithm nvarchar(32) ='NO_Encryption'
encryptor_thumbprint varbinary(20)
encryptor_type nvarchar(32)
last_valid_restore_time datetime >=16
compression_algorithm nvarchar(32) >=16
""")

view("dbo.backupmediafamily", MSDB, """
media_set_id int N
family_sequence_number tinyint N =1
media_family_id uniqueidentifier
media_count int =1
logical_device_name nvarchar(128)
physical_device_name nvarchar(260)
device_type tinyint =2
physical_block_size int =512
mirror tinyint N =0
""")

# SQL Server Agent's job tables (docs: dbo.sysjobs / sysjobsteps / sysjobhistory / sysjobactivity /
# sysjobstepslogs; sysjobs_view is what the documented network test reads).
_SYSJOBS = """
job_id uniqueidentifier N
originating_server_id int N =0
name sysname N
enabled tinyint N =1
description nvarchar(512)
start_step_id int N =1
category_id int N =0
owner_sid varbinary(85) N
notify_level_eventlog int N =2
notify_level_email int N =0
notify_level_netsend int N =0
notify_level_page int N =0
notify_email_operator_id int N =0
notify_netsend_operator_id int N =0
notify_page_operator_id int N =0
delete_level int N =0
date_created datetime N
date_modified datetime N
version_number int N =1
"""
view("dbo.sysjobs", MSDB, _SYSJOBS)
view("dbo.sysjobs_view", MSDB, _SYSJOBS + """
originating_server nvarchar(128) N
master_server bit N =False
""")

view("dbo.sysjobsteps", MSDB, """
job_id uniqueidentifier N
step_id int N
step_name sysname N
subsystem nvarchar(40) N
command nvarchar(max)
flags int N =0
additional_parameters nvarchar(max)
cmdexec_success_code int N =0
on_success_action tinyint N =1
on_success_step_id int N =0
on_fail_action tinyint N =2
on_fail_step_id int N =0
server sysname
database_name sysname
database_user_name sysname
retry_attempts int N =0
retry_interval int N =0
os_run_priority int N =0
output_file_name nvarchar(200)
last_run_outcome int N =0
last_run_duration int N =0
last_run_retries int N =0
last_run_date int N =0
last_run_time int N =0
proxy_id int
step_uid uniqueidentifier
""")

view("dbo.sysjobhistory", MSDB, """
instance_id int N
job_id uniqueidentifier N
step_id int N
step_name sysname N
sql_message_id int N =0
sql_severity int N =0
message nvarchar(4000)
run_status int N
run_date int N
run_time int N
run_duration int N
operator_id_emailed int N =0
operator_id_netsent int N =0
operator_id_paged int N =0
retries_attempted int N =0
server sysname N
""")

view("dbo.sysjobactivity", MSDB, """
session_id int N
job_id uniqueidentifier N
run_requested_date datetime
run_requested_source sysname
queued_date datetime
start_execution_date datetime
last_executed_step_id int
last_executed_step_date datetime
stop_execution_date datetime
job_history_id int
next_scheduled_run_date datetime
""")

view("dbo.sysjobstepslogs", MSDB, """
log_id int N
log nvarchar(max) N
date_created datetime N
date_modified datetime N
log_size int N
step_uid uniqueidentifier N
""")

view("sys.database_recovery_status", SERVER, """
database_id int N
database_guid uniqueidentifier
family_guid uniqueidentifier
last_log_backup_lsn numeric(25,0)
recovery_fork_guid uniqueidentifier
first_recovery_fork_guid uniqueidentifier
fork_point_lsn numeric(25,0)
""")

view("sys.certificates", DATABASE, """
name sysname N
certificate_id int N
principal_id int =1
pvt_key_encryption_type char(2) N
pvt_key_encryption_type_desc nvarchar(60)
is_active_for_begin_dialog bit =True
issuer_name nvarchar(442)
cert_serial_number nvarchar(64)
sid varbinary(85)
string_sid nvarchar(128)
subject nvarchar(4000)
expiry_date datetime
start_date datetime
thumbprint varbinary(32) N
attested_by nvarchar(260)
pvt_key_last_backup_date datetime
key_length int >=15
""")

view("sys.symmetric_keys", DATABASE, """
name sysname N
principal_id int =1
symmetric_key_id int N
key_length int N =256
key_algorithm char(2) N ='A3'
algorithm_desc nvarchar(60) ='AES_256'
create_date datetime N
modify_date datetime N
key_guid uniqueidentifier
key_thumbprint sql_variant
provider_type nvarchar(120)
cryptographic_provider_guid uniqueidentifier
cryptographic_provider_algid sql_variant
""")

_ENDPOINT_BASE = """
name sysname N
endpoint_id int N
principal_id int =1
protocol tinyint N =2
protocol_desc nvarchar(60) ='TCP'
type tinyint N =4
type_desc nvarchar(60) ='DATABASE_MIRRORING'
state tinyint =1
state_desc nvarchar(60) ='STOPPED'
is_admin_endpoint bit N =False
"""
view("sys.endpoints", SERVER, _ENDPOINT_BASE)
view("sys.tcp_endpoints", SERVER, _ENDPOINT_BASE + """
port int N
is_dynamic_port bit N =False
ip_address nvarchar(45)
""")
view("sys.database_mirroring_endpoints", SERVER, _ENDPOINT_BASE + """
role tinyint =3
role_desc nvarchar(60) ='ALL'
is_encryption_enabled bit N =True
connection_auth tinyint N =4
connection_auth_desc nvarchar(60) ='CERTIFICATE'
certificate_id int N =0
encryption_algorithm tinyint N =2
encryption_algorithm_desc nvarchar(60) ='AES'
""")

view("sys.availability_groups", SERVER, """
group_id uniqueidentifier N
name sysname
resource_id nvarchar(40) =''
resource_group_id nvarchar(40) =''
failure_condition_level int =3
health_check_timeout int =30000
automated_backup_preference tinyint =2
automated_backup_preference_desc nvarchar(60) ='SECONDARY'
version smallint >=13 =3
basic_features bit >=13 =False
dtc_support bit >=13 =False
db_failover bit >=13 =False
is_distributed bit >=13 =False
cluster_type tinyint >=14 =2
cluster_type_desc nvarchar(60) >=14 ='NONE'
required_synchronized_secondaries_to_commit int >=14 =0
sequence_number bigint >=14
is_contained bit >=15 =False
""")

view("sys.availability_groups_cluster", SERVER, """
group_id uniqueidentifier N
name sysname
resource_id nvarchar(40) =''
resource_group_id nvarchar(40) =''
failure_condition_level int =3
health_check_timeout int =30000
automated_backup_preference tinyint =2
automated_backup_preference_desc nvarchar(60) ='SECONDARY'
""")

view("sys.availability_replicas", SERVER, """
replica_id uniqueidentifier
group_id uniqueidentifier
replica_metadata_id int
replica_server_name nvarchar(256)
owner_sid varbinary(85)
endpoint_url nvarchar(256)
availability_mode tinyint
availability_mode_desc nvarchar(60)
failover_mode tinyint
failover_mode_desc nvarchar(60)
session_timeout int
primary_role_allow_connections tinyint
primary_role_allow_connections_desc nvarchar(60)
secondary_role_allow_connections tinyint
secondary_role_allow_connections_desc nvarchar(60)
create_date datetime
modify_date datetime
backup_priority int
read_only_routing_url nvarchar(256)
seeding_mode tinyint >=13
seeding_mode_desc nvarchar(60) >=13
read_write_routing_url nvarchar(256) >=15
""")

view("sys.availability_databases_cluster", SERVER, """
group_id uniqueidentifier N
group_database_id uniqueidentifier N
database_name sysname
""")

view("sys.dm_hadr_availability_replica_states", SERVER, """
replica_id uniqueidentifier N
group_id uniqueidentifier N
is_local bit N
role tinyint
role_desc nvarchar(60)
operational_state tinyint
operational_state_desc nvarchar(60)
connected_state tinyint
connected_state_desc nvarchar(60)
recovery_health tinyint
recovery_health_desc nvarchar(60)
synchronization_health tinyint
synchronization_health_desc nvarchar(60)
last_connect_error_number int
last_connect_error_description nvarchar(1024)
last_connect_error_timestamp datetime
write_lease_remaining_ticks bigint >=14
current_configuration_commit_start_time_utc datetime >=15
is_internal bit >=17 =False
""", dmv=True)

view("sys.dm_hadr_database_replica_states", SERVER, """
database_id int N
group_id uniqueidentifier N
replica_id uniqueidentifier N
group_database_id uniqueidentifier N
is_local bit
is_primary_replica bit
synchronization_state tinyint
synchronization_state_desc nvarchar(60)
is_commit_participant bit =False
synchronization_health tinyint
synchronization_health_desc nvarchar(60)
database_state tinyint
database_state_desc nvarchar(60)
is_suspended bit =False
suspend_reason tinyint
suspend_reason_desc nvarchar(60)
recovery_lsn numeric(25,0)
truncation_lsn numeric(25,0)
last_sent_lsn numeric(25,0)
last_sent_time datetime
last_received_lsn numeric(25,0)
last_received_time datetime
last_hardened_lsn numeric(25,0)
last_hardened_time datetime
last_redone_lsn numeric(25,0)
last_redone_time datetime
log_send_queue_size bigint
log_send_rate bigint
redo_queue_size bigint
redo_rate bigint
filestream_send_rate bigint
end_of_log_lsn numeric(25,0)
last_commit_lsn numeric(25,0)
last_commit_time datetime
low_water_mark_for_ghosts bigint
secondary_lag_seconds bigint >=13
quorum_commit_lsn numeric(25,0) >=15
quorum_commit_time datetime >=15
is_internal bit >=17 =False
""", dmv=True)

view("sys.dm_hadr_availability_group_states", SERVER, """
group_id uniqueidentifier N
primary_replica varchar(128)
primary_recovery_health tinyint
primary_recovery_health_desc nvarchar(60)
secondary_recovery_health tinyint
secondary_recovery_health_desc nvarchar(60)
synchronization_health tinyint
synchronization_health_desc nvarchar(60)
""", dmv=True)

view("sys.dm_hadr_automatic_seeding", SERVER, """
start_time datetime N
completion_time datetime
ag_id uniqueidentifier N
ag_db_id uniqueidentifier N
ag_remote_replica_id uniqueidentifier N
operation_id uniqueidentifier N
is_source bit N
current_state nvarchar(4000) N
performed_seeding bit N
failure_state int
failure_state_desc nvarchar(4000)
error_code int
number_of_attempts int N
""", dmv=True, min_major=13)

view("sys.dm_hadr_physical_seeding_stats", SERVER, """
local_physical_seeding_id uniqueidentifier N
remote_physical_seeding_id uniqueidentifier
local_database_id int
local_database_name nvarchar(128)
remote_machine_name nvarchar(128)
role_desc nvarchar(60)
internal_state_desc nvarchar(60)
transfer_rate_bytes_per_second bigint
transferred_size_bytes bigint
database_size_bytes bigint
start_time_utc datetime
end_time_utc datetime
estimate_time_complete_utc datetime
total_disk_io_wait_time_ms bigint
total_network_wait_time_ms bigint
failure_code int
failure_message nvarchar(4000)
failure_time_utc datetime
is_compression_enabled bit
""", dmv=True, min_major=13)

view("sys.dm_hadr_cluster", SERVER, """
cluster_name nvarchar(256) N
quorum_type tinyint N
quorum_type_desc nvarchar(60) N
quorum_state tinyint N
quorum_state_desc nvarchar(60) N
""", dmv=True)

# Azure SQL Managed Instance's Service Fabric DMVs (undocumented: only the columns the documented
# network-test query reads, plus ids). They are empty on a SQL Server.
view("sys.dm_hadr_fabric_config_parameters", SERVER, """
section_name nvarchar(256) N
parameter_name nvarchar(256) N
value nvarchar(max)
""", dmv=True)

view("sys.dm_hadr_fabric_partitions", SERVER, """
partition_id uniqueidentifier N
service_name nvarchar(256) N
partition_kind nvarchar(60) ='Singleton'
""", dmv=True)

view("sys.dm_hadr_fabric_replicas", SERVER, """
partition_id uniqueidentifier N
replica_id bigint N
replica_role tinyint N
replica_status nvarchar(60) ='Ready'
replica_address nvarchar(max)
node_name nvarchar(256) N
""", dmv=True)

view("sys.dm_hadr_fabric_nodes", SERVER, """
node_name nvarchar(256) N
node_id nvarchar(64) N
upgrade_domain nvarchar(64)
fault_domain nvarchar(256)
node_status nvarchar(60) ='Up'
""", dmv=True)

view("sys.dm_os_host_info", SERVER, """
host_platform nvarchar(256) N
host_distribution nvarchar(256) N
host_release nvarchar(256) N
host_service_pack_level nvarchar(256) N =''
host_sku int
os_language_version int N =1033
host_architecture nvarchar(256) >=15 ='X64'
""", dmv=True, min_major=14)

view("sys.dm_server_services", SERVER, """
servicename nvarchar(256) N
startup_type int
startup_type_desc nvarchar(256) N
status int
status_desc nvarchar(256) N
process_id int
last_startup_time datetimeoffset(7)
service_account nvarchar(256) N
filename nvarchar(256) N
is_clustered nvarchar(1) N ='N'
cluster_nodename nvarchar(256)
instant_file_initialization_enabled nvarchar(1) N ='Y'
""", dmv=True)

view("sys.configurations", SERVER, """
configuration_id int N
name nvarchar(35) N
value sql_variant
minimum sql_variant
maximum sql_variant
value_in_use sql_variant
description nvarchar(255) N
is_dynamic bit N
is_advanced bit N
""")

view("sys.dm_server_registry", SERVER, """
registry_key nvarchar(256)
value_name nvarchar(256)
value_data sql_variant
""", dmv=True)

view("sys.system_objects", SERVER, """
name sysname N
object_id int N
principal_id int
schema_id int N =4
parent_object_id int N =0
type char(2)
type_desc nvarchar(60)
create_date datetime N
modify_date datetime N
is_ms_shipped bit N =True
is_published bit N =False
is_schema_published bit N =False
""")

_PRINCIPAL = """
name sysname N
principal_id int N
sid varbinary(85)
type char(1) N
type_desc nvarchar(60)
is_disabled bit =False
create_date datetime N
modify_date datetime N
default_database_name sysname
default_language_name sysname
credential_id int
owning_principal_id int
is_fixed_role bit N =False
"""
view("sys.server_principals", SERVER, _PRINCIPAL)
view("sys.sql_logins", SERVER, _PRINCIPAL + """
is_policy_checked bit =True
is_expiration_checked bit =False
password_hash varbinary(256)
""")
view("sys.server_role_members", SERVER, """
role_principal_id int N
member_principal_id int N
""")

view("sys.dm_database_encryption_keys", SERVER, """
database_id int
encryption_state int
create_date datetime N
regenerate_date datetime N
modify_date datetime N
set_date datetime N
opened_date datetime N
key_algorithm nvarchar(32) N ='AES'
key_length int N =256
encryptor_thumbprint varbinary(32)
encryptor_type nvarchar(32)
percent_complete real N =0.0
encryption_state_desc nvarchar(32) >=15
encryption_scan_state int >=15
encryption_scan_state_desc nvarchar(32) >=15
encryption_scan_modify_date datetime >=15
""", dmv=True)

view("sys.dm_exec_sessions", SERVER, """
session_id smallint N
login_time datetime N
host_name nvarchar(128)
program_name nvarchar(128)
host_process_id int
client_version int =7
client_interface_name nvarchar(32) ='ODBC'
security_id varbinary(85) N =b'\\x01'
login_name nvarchar(128) N
nt_domain nvarchar(128)
nt_user_name nvarchar(128)
status nvarchar(30) N ='sleeping'
context_info varbinary(128)
cpu_time int N =0
memory_usage int N =2
total_scheduled_time int N =0
total_elapsed_time int N =0
endpoint_id int N =4
last_request_start_time datetime N
last_request_end_time datetime
reads bigint N =0
writes bigint N =0
logical_reads bigint N =0
is_user_process bit N =True
text_size int N =2147483647
language nvarchar(128) ='us_english'
date_format nvarchar(3) ='mdy'
date_first smallint N =7
quoted_identifier bit N =True
arithabort bit N =False
ansi_null_dflt_on bit N =True
ansi_defaults bit N =False
ansi_warnings bit N =True
ansi_padding bit N =True
ansi_nulls bit N =True
concat_null_yields_null bit N =True
transaction_isolation_level smallint N =2
lock_timeout int N =-1
deadlock_priority int N =0
row_count bigint N =0
prev_error int N =0
original_security_id varbinary(85) N =b'\\x01'
original_login_name nvarchar(128) N
last_successful_logon datetime
last_unsuccessful_logon datetime
unsuccessful_logons bigint
group_id int N =2
database_id smallint N
authenticating_database_id int =1
open_transaction_count int N =0
page_server_reads bigint N >=15 =0
""", dmv=True)


def find_view(schema: str, name: str) -> ViewDef | None:
    return VIEWS.get(f"{schema.lower()}.{name.lower()}")
