// Create predicted regulation edges of a run (directed regulator -> target), if this write attempt still owns the run; its edges were cleared first and rows are unique per (src, dst).
// Parameters: $run (run id), $attempt (token from run_begin), $rows (list of {src, dst, score, relation (a gene relation of kg/schema.yaml, or null to derive from the biotype classes), attention}), $relation_of (map '<src class>><dst class>' -> relation name, from kg/schema.yaml)
// The run node is locked first (heartbeat), so a concurrent run_begin of the same id waits for
// this batch, and later batches of a superseded attempt write nothing (owned = false).
// CREATE, not MERGE: write_run deletes the run's edges before writing and collapses duplicate
// rows in Python, so each edge is created once. A MERGE keyed on {run: $run} is planned as a
// seek of the run's relationship index per row, which is quadratic in the size of the run.
MATCH (m:ModelRun {id: $run})
SET m.heartbeat = datetime()
WITH m.status = 'writing' AND m.attempt = $attempt AS owned
CALL (owned) {
  UNWIND CASE WHEN owned THEN $rows ELSE [] END AS row
  MATCH (a:Gene {ensembl_id: row.src})
  MATCH (b:Gene {ensembl_id: row.dst})
  CREATE (a)-[r:PREDICTED_REGULATES {run: $run, score: row.score, attention: row.attention}]->(b)
  SET r.relation = coalesce(row.relation, $relation_of[a.biotype_class + '>' + b.biotype_class])
  RETURN count(r) AS n
}
RETURN owned, n;
