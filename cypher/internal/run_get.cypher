// One model run's record (any status).
// Parameters: $id (run id)
MATCH (m:ModelRun {id: $id})
RETURN m.id AS id, m.model AS model, m.config_hash AS config_hash, m.dataset AS dataset,
       m.split AS split, m.seed AS seed, m.snapshot_id AS snapshot_id, m.metrics AS metrics,
       m.config AS config, toString(m.created) AS created, m.status AS status, m.counts AS counts;
