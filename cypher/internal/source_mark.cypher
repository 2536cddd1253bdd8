// Record (or update) the Source node of one loaded data source with its status and load statistics.
// Parameters: $name, $version, $licence, $url, $retrieved, $status ('loading' | 'complete'), $now (ISO time), $stats (JSON or null: keep the old)
MERGE (s:Source {name: $name, version: $version})
SET s.licence = $licence, s.url = $url, s.retrieved = $retrieved, s.status = $status,
    s.updated = datetime($now), s.stats = coalesce($stats, s.stats)
