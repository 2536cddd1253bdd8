// The KG genes each condition of a dataset targets (as resolved on import).
// Parameters: $name (dataset name)
MATCH (:Dataset {name: $name})-[:HAS_CONDITION]->(c:Condition)-[:TARGETS]->(g:Gene)
RETURN c.name AS condition, collect(g.ensembl_id) AS ids, collect(g.symbol) AS symbols;
