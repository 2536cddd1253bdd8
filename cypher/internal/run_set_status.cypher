// Set a model run's status (e.g. 'complete' when all its edges are written), and its edge counts when given.
// Parameters: $id, $status, $counts (JSON string or null)
MATCH (m:ModelRun {id: $id})
SET m.status = $status, m.counts = coalesce($counts, m.counts)
RETURN m.id AS id, m.status AS status;
