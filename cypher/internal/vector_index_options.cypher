// Options (dimensions, similarity) of the vector index named $n, if there is one.
// Parameters: $n (index name)
SHOW VECTOR INDEXES YIELD name, options
WHERE name = $n
RETURN options
