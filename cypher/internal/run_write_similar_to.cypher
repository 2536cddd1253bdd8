// Create learned similarity edges of a run (undirected: src < dst); the run's edges are cleared first and rows are unique per (src, dst, modality).
// Parameters: $run (run id), $rows (list of {src, dst, score, modality})
// CREATE, not MERGE: see run_write_predicted_regulates.cypher.
UNWIND $rows AS row
MATCH (a:Gene {ensembl_id: row.src})
MATCH (b:Gene {ensembl_id: row.dst})
CREATE (a)-[r:SIMILAR_TO {run: $run, modality: row.modality, score: row.score}]->(b)
RETURN count(r) AS n;
