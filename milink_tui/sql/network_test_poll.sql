-- The network test job's history: step rows, then the step 0 outcome row when the job is done.
-- Parameter: job name.
SET NOCOUNT ON;
SELECT h.instance_id, h.step_id, h.step_name, h.run_status, h.run_duration, h.message
FROM msdb.dbo.sysjobhistory AS h
JOIN msdb.dbo.sysjobs AS j ON j.job_id = h.job_id
WHERE j.name = ?
ORDER BY h.instance_id;
