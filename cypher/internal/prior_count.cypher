// Number of prior edges of one parameter set.
// Parameters: $params_hash
MATCH ()-[r:PRIOR {params_hash: $params_hash}]->()
RETURN count(r) AS n;
