-- Does a started database mirroring endpoint listen on this port on SQL Server? (Without one,
-- nothing answers the managed instance's probe, whatever the firewalls allow.) Parameter: port.
SET NOCOUNT ON;
SELECT COUNT(*) AS listening
FROM sys.tcp_endpoints AS t
JOIN sys.database_mirroring_endpoints AS m ON m.endpoint_id = t.endpoint_id
WHERE t.port = ? AND t.state_desc = N'STARTED';
