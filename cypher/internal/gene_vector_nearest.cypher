// The $k genes whose vectors in property $prop are closest (cosine, through vector index $index) to those of gene $id.
// Parameters: $id (Ensembl id), $prop (feature property), $index (vector index name), $k1 ($k + 1), $k
MATCH (g:Gene {ensembl_id: $id})
WHERE g[$prop] IS NOT NULL
CALL db.index.vector.queryNodes($index, $k1, g[$prop]) YIELD node, score
WHERE node <> g
RETURN node.ensembl_id AS ensembl_id, node.symbol AS symbol, score
LIMIT $k;
