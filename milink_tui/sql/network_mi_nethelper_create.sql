-- Create the Network Checker's job on the managed instance (docs: "Test the connection from SQL
-- Managed Instance to SQL Server"): one PowerShell step, tnc <SQL Server> -port <n>
-- -InformationLevel Quiet, with @flags = 40 so its output lands in msdb.dbo.sysjobstepslogs.
-- The documented script makes 'sa' the owner; milink keeps the signed-in admin as owner (the
-- instance's sa may be disabled) and polls from the client instead of a helper procedure, so
-- nothing but the job is created. Parameters: job name, step command (validated host, integer port).
SET NOCOUNT ON;
DECLARE @job sysname = ?, @cmd nvarchar(max) = ?;
DECLARE @jobId uniqueidentifier;
IF EXISTS (SELECT job_id FROM msdb.dbo.sysjobs_view WHERE name = @job)
    EXEC msdb.dbo.sp_delete_job @job_name = @job, @delete_unused_schedule = 1;
EXEC msdb.dbo.sp_add_job @job_name = @job, @enabled = 1, @category_name = N'[Uncategorized (Local)]',
    @description = N'milink: test managed instance -> SQL Server network connectivity (deleted afterwards).',
    @job_id = @jobId OUTPUT;
EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_name = N'NetHelper', @step_id = 1,
    @cmdexec_success_code = 0, @on_success_action = 1, @on_fail_action = 2, @subsystem = N'PowerShell',
    @command = @cmd, @database_name = N'master', @flags = 40;
EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)';
