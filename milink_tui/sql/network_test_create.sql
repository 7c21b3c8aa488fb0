-- Create the SSMS Network Checker's job on SQL Server (docs: "Test the connection from SQL Server
-- to SQL Managed Instance"). Parameters: job name, step 1 command (tnc <mi> -port 5022),
-- step 2 command (tnc <node> -port <HadrPort>) or NULL when the redirect target is unknown.
-- Commands arrive as parameters; milink validates host names before building them.
SET NOCOUNT ON;
DECLARE @job sysname = ?, @cmd5022 nvarchar(max) = ?, @cmdRedirect nvarchar(max) = ?;
DECLARE @jobId uniqueidentifier;
DECLARE @next tinyint = CASE WHEN @cmdRedirect IS NULL THEN 1 ELSE 3 END;
DECLARE @fail tinyint = CASE WHEN @cmdRedirect IS NULL THEN 2 ELSE 3 END;
IF EXISTS (SELECT job_id FROM msdb.dbo.sysjobs_view WHERE name = @job)
    EXEC msdb.dbo.sp_delete_job @job_name = @job, @delete_unused_schedule = 1;
EXEC msdb.dbo.sp_add_job @job_name = @job, @enabled = 1,
    @description = N'milink: test SQL Server -> managed instance network connectivity (deleted afterwards).',
    @job_id = @jobId OUTPUT;
EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'Test Port 5022', @step_id = 1,
    @cmdexec_success_code = 0, @on_success_action = @next, @on_fail_action = @fail,
    @subsystem = N'PowerShell', @command = @cmd5022, @database_name = N'master';
IF @cmdRedirect IS NOT NULL
    EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'Test HADR Port', @step_id = 2,
        @cmdexec_success_code = 0, @subsystem = N'PowerShell', @command = @cmdRedirect,
        @database_name = N'master';
EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)';
