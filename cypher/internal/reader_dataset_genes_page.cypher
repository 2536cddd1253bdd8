// The next page of genes measured in a dataset, (Gene)-[:MEASURED_IN]->(Dataset {name}), in Ensembl-id order.
// Parameters: $dataset (dataset name), $after (last ensembl_id of the previous page, '' at the start), $page
MATCH (g:Gene)-[:MEASURED_IN]->(:Dataset {name: $dataset})
WHERE g.ensembl_id > $after
RETURN DISTINCT g.ensembl_id AS id
ORDER BY id
LIMIT $page;
