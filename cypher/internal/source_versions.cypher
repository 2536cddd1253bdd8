// Every Source node (data sources and derived prior sets) with its version and status: the provenance of a snapshot.
// Parameters: none
MATCH (s:Source)
RETURN s.name AS name, s.version AS version, s.status AS status
ORDER BY name, version;
