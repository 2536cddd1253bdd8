// Make a model run visible: status 'complete' with its edge counts, only while the write attempt that staged it still owns it.
// Parameters: $id (run id), $attempt (token given to run_begin), $counts (JSON string)
MATCH (m:ModelRun {id: $id})
WHERE m.status = 'writing' AND m.attempt = $attempt
SET m.status = 'complete', m.counts = $counts
RETURN m.id AS id;
