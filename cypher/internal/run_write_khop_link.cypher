// Create learned K-hop edges of a run (undirected: src < dst); the run's edges are cleared first and rows are unique per (src, dst).
// Parameters: $run (run id), $rows (list of {src, dst, score, k})
// CREATE, not MERGE: see run_write_predicted_regulates.cypher.
UNWIND $rows AS row
MATCH (a:Gene {ensembl_id: row.src})
MATCH (b:Gene {ensembl_id: row.dst})
CREATE (a)-[r:KHOP_LINK {run: $run, score: row.score, k: row.k}]->(b)
RETURN count(r) AS n;
