// Create learned similarity edges of a run (undirected: src < dst), if this write attempt still owns the run; its edges were cleared first and rows are unique per (src, dst, modality).
// Parameters: $run (run id), $attempt (token from run_begin), $rows (list of {src, dst, score, modality})
// Locking and CREATE instead of MERGE: see run_write_predicted_regulates.cypher.
MATCH (m:ModelRun {id: $run})
SET m.heartbeat = datetime()
WITH m.status = 'writing' AND m.attempt = $attempt AS owned
CALL (owned) {
  UNWIND CASE WHEN owned THEN $rows ELSE [] END AS row
  MATCH (a:Gene {ensembl_id: row.src})
  MATCH (b:Gene {ensembl_id: row.dst})
  CREATE (a)-[r:SIMILAR_TO {run: $run, modality: row.modality, score: row.score}]->(b)
  RETURN count(r) AS n
}
RETURN owned, n;
