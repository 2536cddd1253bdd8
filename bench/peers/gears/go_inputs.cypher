// GEARS's GO inputs for one dataset: the GO term ids of every gene the dataset measures and of
// every gene its conditions target (targets that are not measured included), from the KG.
// GEARS's gene2go_all.pkl is built from these rows; GO Jaccard is computed from the same sets.
// Parameters: $dataset (Dataset name), $namespace (GO namespace, or null for all three)
MATCH (d:Dataset {name: $dataset})
CALL {
  WITH d
  MATCH (g:Gene)-[m:MEASURED_IN]->(d)
  RETURN g, m.position AS position
  UNION
  WITH d
  MATCH (d)-[:HAS_CONDITION]->(:Condition)-[:TARGETS]->(g:Gene)
  WHERE NOT (g)-[:MEASURED_IN]->(d)
  RETURN g, null AS position
}
OPTIONAL MATCH (g)-[:ANNOTATED_WITH]->(t:GOTerm)
WHERE $namespace IS NULL OR t.namespace = $namespace
RETURN g.ensembl_id AS ensembl_id, g.symbol AS symbol, position, collect(DISTINCT t.id) AS go_ids
ORDER BY ensembl_id;
