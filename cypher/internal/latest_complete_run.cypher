// Id of the newest complete model run.
// Parameters: none
MATCH (m:ModelRun {status: 'complete'})
RETURN m.id AS id
ORDER BY m.created DESC
LIMIT 1;
