// Stage a model run: create or reset its ModelRun node with status 'writing' (every query ignores it until 'complete') and a new write-attempt token.
// Parameters: $id, $model, $config_hash, $dataset, $split, $seed, $snapshot_id, $metrics (JSON string), $config (JSON string), $now (ISO time), $attempt (token of this write)
MERGE (m:ModelRun {id: $id})
SET m.status = 'writing', m.model = $model, m.config_hash = $config_hash, m.dataset = $dataset,
    m.split = $split, m.seed = $seed, m.snapshot_id = $snapshot_id, m.metrics = $metrics,
    m.config = $config, m.created = datetime($now), m.counts = null, m.attempt = $attempt
RETURN m.id AS id;
