// Parameter sets of materialised prior edges (Source nodes named 'prior.*'), newest first.
// Parameters: none
MATCH (s:Source)
WHERE s.name STARTS WITH 'prior.'
RETURN s.name AS name, s.version AS params_hash, s.status AS status, s.params AS params,
       s.inputs AS inputs, s.stats AS stats, toString(s.updated) AS updated
ORDER BY s.updated DESC;
