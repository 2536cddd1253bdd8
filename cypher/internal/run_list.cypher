// Model runs, newest first, with their status and edge counts.
// Parameters: $status (a status such as 'complete', or null for all)
MATCH (m:ModelRun)
WHERE $status IS NULL OR m.status = $status
RETURN m.id AS id, m.model AS model, m.dataset AS dataset, m.split AS split, m.seed AS seed,
       m.status AS status, toString(m.created) AS created, m.counts AS counts,
       m.snapshot_id AS snapshot_id
ORDER BY m.created DESC, m.id DESC;
