// Delete every node and relationship (the schema stays), in batches; for tests and resets.
// Parameters: none
MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
