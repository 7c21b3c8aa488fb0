-- The NetHelper job's state: stop_execution_date is set when it has finished; then the step's
-- log (sysjobstepslogs, written because of @flags = 40) holds True or False, and its history row
-- says whether PowerShell ran at all. Parameter: job name.
SET NOCOUNT ON;
SELECT a.stop_execution_date, l.log, h.run_status, h.message
FROM msdb.dbo.sysjobs AS j
LEFT JOIN msdb.dbo.sysjobactivity AS a ON a.job_id = j.job_id
LEFT JOIN msdb.dbo.sysjobsteps AS s ON s.job_id = j.job_id AND s.step_id = 1
LEFT JOIN msdb.dbo.sysjobstepslogs AS l ON l.step_uid = s.step_uid
LEFT JOIN msdb.dbo.sysjobhistory AS h ON h.job_id = j.job_id AND h.step_id = 1
WHERE j.name = ?;
