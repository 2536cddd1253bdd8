// Link the measured genes of a dataset to it, with their position in the data.
// Parameters: $name (dataset name), $rows (list of {id: Ensembl id, pos}), $src (provenance)
MATCH (d:Dataset {name: $name})
UNWIND $rows AS row
MATCH (g:Gene {ensembl_id: row.id})
MERGE (g)-[m:MEASURED_IN]->(d)
SET m.position = row.pos, m.source = $src
