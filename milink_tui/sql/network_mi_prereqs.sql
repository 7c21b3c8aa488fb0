-- Can milink run the Network Checker's jobs on this managed instance? EngineEdition 8 is Azure
-- SQL Managed Instance (its SQL Server Agent always runs); creating jobs needs sysadmin here.
SET NOCOUNT ON;
SELECT CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       CAST(SERVERPROPERTY('ServerName') AS nvarchar(256)) AS server_name,
       IS_SRVROLEMEMBER('sysadmin') AS is_sysadmin;
