// GO term ids of a page of genes (one row per gene with at least one term), optionally one namespace.
// Parameters: $ids (Ensembl ids), $namespace (GO namespace, or null for all)
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})-[:ANNOTATED_WITH]->(t:GOTerm)
WHERE $namespace IS NULL OR t.namespace = $namespace
RETURN gid AS id, collect(t.id) AS terms;
