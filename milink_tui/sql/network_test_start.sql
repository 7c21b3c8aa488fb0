-- Start the network test job (error 22022 when SQL Server Agent is not running). Parameter: job name.
EXEC msdb.dbo.sp_start_job @job_name = ?;
