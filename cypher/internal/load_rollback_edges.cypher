// A failed load: delete the relationships it created (stamped load_created = its staging id), in batches.
// Parameters: $load (staging id of the failed load)
MATCH ()-[r]->()
WHERE r.load_created = $load
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
