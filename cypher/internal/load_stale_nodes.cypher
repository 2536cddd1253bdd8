// After a complete load: delete the nodes stamped with this source key that the load did not write (junk of killed loads, records gone from the new file), in batches.
// Parameters: $source (name@version), $load (staging id of the complete load)
MATCH (n)
WHERE n.source = $source AND NOT n:Source AND coalesce(n.load, '') <> $load
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
