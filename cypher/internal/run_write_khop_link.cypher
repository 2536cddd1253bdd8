// Write learned K-hop edges of a run (undirected: src < dst), idempotent on (src, dst, run).
// Parameters: $run (run id), $rows (list of {src, dst, score, k})
UNWIND $rows AS row
MATCH (a:Gene {ensembl_id: row.src})
MATCH (b:Gene {ensembl_id: row.dst})
MERGE (a)-[r:KHOP_LINK {run: $run}]->(b)
SET r.score = row.score, r.k = row.k
RETURN count(r) AS n;
