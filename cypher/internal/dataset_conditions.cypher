// Create a dataset's Condition nodes, linked to the dataset and to the genes they target.
// Parameters: $name (dataset name), $rows (list of {id, name, kind, n_cells, n_targets, targets: [Ensembl ids]}), $src (provenance)
MATCH (d:Dataset {name: $name})
UNWIND $rows AS row
CREATE (c:Condition {id: row.id, dataset: $name, name: row.name, kind: row.kind,
                     n_cells: row.n_cells, n_targets: row.n_targets, source: $src})
CREATE (d)-[:HAS_CONDITION {source: $src}]->(c)
WITH c, row
UNWIND row.targets AS t
MATCH (g:Gene {ensembl_id: t})
MERGE (c)-[:TARGETS {source: $src}]->(g)
