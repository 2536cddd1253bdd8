// The next page of a dataset's genes in Ensembl-id order: those measured in it, (Gene)-[:MEASURED_IN]->(Dataset {name}), and the targets of its conditions, (Dataset)-[:HAS_CONDITION]->(Condition)-[:TARGETS]->(Gene), measured or not.
// Parameters: $dataset (dataset name), $after (last ensembl_id of the previous page, '' at the start), $page
CALL {
  MATCH (g:Gene)-[:MEASURED_IN]->(:Dataset {name: $dataset})
  RETURN g
  UNION
  MATCH (:Dataset {name: $dataset})-[:HAS_CONDITION]->(:Condition)-[:TARGETS]->(g:Gene)
  RETURN g
}
WITH g
WHERE g.ensembl_id > $after
RETURN DISTINCT g.ensembl_id AS id
ORDER BY id
LIMIT $page;
