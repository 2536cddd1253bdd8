// After a complete load: delete the relationships stamped with this source key that the load did not write, in batches.
// Parameters: $source (name@version), $load (staging id of the complete load)
MATCH ()-[r]->()
WHERE r.source = $source AND coalesce(r.load, '') <> $load
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
