// Id of the newest complete model run (THE '@latest' of every command; ties by id).
// Parameters: none
MATCH (m:ModelRun {status: 'complete'})
RETURN m.id AS id
ORDER BY m.created DESC, m.id DESC
LIMIT 1;
