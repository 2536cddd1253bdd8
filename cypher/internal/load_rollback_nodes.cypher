// A failed load: delete the nodes it created (stamped load_created = its staging id), in batches.
// Parameters: $load (staging id of the failed load)
MATCH (n)
WHERE n.load_created = $load
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
