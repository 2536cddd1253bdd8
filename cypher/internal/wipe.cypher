// Delete every node (after wipe_relationships, so each batch is small), in batches; for tests and resets.
// Parameters: none
MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS
