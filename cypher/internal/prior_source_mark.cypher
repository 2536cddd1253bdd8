// Record (or update) the Source node of one prior-edge parameter set: name 'prior.<kind>', version = params hash.
// Parameters: $name, $version, $status ('building' | 'complete' | 'replaced'), $params (JSON), $inputs (JSON), $now (ISO time), $stats (JSON or null)
MERGE (s:Source {name: $name, version: $version})
SET s.status = $status, s.params = $params, s.inputs = $inputs, s.licence = 'derived',
    s.retrieved = coalesce(s.retrieved, $now), s.updated = datetime($now),
    s.stats = coalesce($stats, s.stats)
RETURN s.name AS name, s.version AS version, s.status AS status;
