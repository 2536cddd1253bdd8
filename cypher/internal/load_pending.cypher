// Staging ids of the load attempts not finished (running, or killed): readers skip the records these loads created (r.load_created IN the list).
// Parameters: none
MATCH (s:Source)
WHERE s.status = 'loading' AND s.load IS NOT NULL
RETURN s.load AS load, s.name AS name, s.version AS version
ORDER BY name, version;
