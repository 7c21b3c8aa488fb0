-- Can this SQL Server run the documented network test (a PowerShell SQL Agent job)?
-- Agent must run (sys.dm_server_services), Agent XPs are on while it does, the login must be able
-- to create jobs (sysadmin here), and the host must be Windows (Agent on Linux has no PowerShell).
SET NOCOUNT ON;
SELECT CAST(SERVERPROPERTY('ServerName') AS nvarchar(128)) AS server_name,
       @@VERSION AS version_string,
       (SELECT TOP 1 s.status_desc FROM sys.dm_server_services AS s
         WHERE s.servicename LIKE N'SQL Server Agent%') AS agent_status,
       (SELECT CAST(c.value_in_use AS int) FROM sys.configurations AS c WHERE c.name = N'Agent XPs') AS agent_xps,
       IS_SRVROLEMEMBER('sysadmin') AS is_sysadmin;
