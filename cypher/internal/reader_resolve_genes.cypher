// Resolve identifiers (Ensembl gene ids or symbols, case-insensitive for symbols) to Ensembl ids.
// Parameters: $keys (list of identifiers)
UNWIND $keys AS k
OPTIONAL MATCH (e:Gene {ensembl_id: k})
OPTIONAL MATCH (s:Gene {symbol: toUpper(k)})
WITH k, e, s ORDER BY s.ensembl_id
RETURN k AS key, coalesce(e.ensembl_id, head(collect(s.ensembl_id))) AS id;
