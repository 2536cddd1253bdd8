// Record that writing a model run failed (status 'failed'; the reason is kept in the run's folder), only while it is still being written by this attempt (any attempt when $attempt is null); queries never see it.
// Parameters: $id (run id), $attempt (token given to run_begin, or null)
MATCH (m:ModelRun {id: $id})
WHERE m.status = 'writing' AND ($attempt IS NULL OR m.attempt = $attempt)
SET m.status = 'failed'
RETURN m.id AS id;
