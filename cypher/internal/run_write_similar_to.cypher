// Write learned similarity edges of a run (undirected: src < dst), idempotent on (src, dst, modality, run).
// Parameters: $run (run id), $rows (list of {src, dst, score, modality})
UNWIND $rows AS row
MATCH (a:Gene {ensembl_id: row.src})
MATCH (b:Gene {ensembl_id: row.dst})
MERGE (a)-[r:SIMILAR_TO {run: $run, modality: row.modality}]->(b)
SET r.score = row.score
RETURN count(r) AS n;
