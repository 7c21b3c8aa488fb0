-- Remove the network test job and its history (always, even after a failure). Parameter: job name.
SET NOCOUNT ON;
DECLARE @job sysname = ?;
IF EXISTS (SELECT job_id FROM msdb.dbo.sysjobs_view WHERE name = @job)
    EXEC msdb.dbo.sp_delete_job @job_name = @job, @delete_unused_schedule = 1;
SELECT COUNT(*) AS remaining FROM msdb.dbo.sysjobs_view WHERE name = @job;
