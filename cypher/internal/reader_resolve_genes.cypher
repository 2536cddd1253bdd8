// Resolve identifiers (Ensembl gene ids or symbols, case-insensitive for symbols) to Ensembl ids.
// Parameters: $keys (list of identifiers)
UNWIND $keys AS k
OPTIONAL MATCH (e:Gene {ensembl_id: k})
OPTIONAL MATCH (s:Gene {symbol: toUpper(k)})
WITH k, e, s ORDER BY s.ensembl_id
WITH k, e.ensembl_id AS by_id, collect(s.ensembl_id) AS by_symbol
RETURN k AS key, coalesce(by_id, head(by_symbol)) AS id;
