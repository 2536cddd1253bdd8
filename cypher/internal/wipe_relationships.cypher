// Delete every relationship in batches (first step of a wipe: a node batch then holds no relationships, whatever the degrees).
// Parameters: none
MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
