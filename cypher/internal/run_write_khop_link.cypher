// Create learned K-hop edges of a run (undirected: src < dst), if this write attempt still owns the run; its edges were cleared first and rows are unique per (src, dst).
// Parameters: $run (run id), $attempt (token from run_begin), $rows (list of {src, dst, score, k})
// Locking and CREATE instead of MERGE: see run_write_predicted_regulates.cypher.
MATCH (m:ModelRun {id: $run})
SET m.heartbeat = datetime()
WITH m.status = 'writing' AND m.attempt = $attempt AS owned
CALL (owned) {
  UNWIND CASE WHEN owned THEN $rows ELSE [] END AS row
  MATCH (a:Gene {ensembl_id: row.src})
  MATCH (b:Gene {ensembl_id: row.dst})
  CREATE (a)-[r:KHOP_LINK {run: $run, score: row.score, k: row.k}]->(b)
  RETURN count(r) AS n
}
RETURN owned, n;
