// Every Source node with licence, status, retrieval date and load statistics, by name.
// Parameters: none
MATCH (s:Source)
RETURN s.name AS name, s.version AS version, s.licence AS licence, s.status AS status,
       s.retrieved AS retrieved, s.stats AS stats
ORDER BY name;
