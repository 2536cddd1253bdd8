// Create predicted response edges of a label run (perturbed gene -> downstream gene), if this write attempt still owns the run; its edges were cleared first and rows are unique per (src, dst).
// Parameters: $run (run id), $attempt (token from run_begin), $rows (list of {src, dst, score (P of the label), task ('de' or 'direction'), direction ('up', 'down' or null), cell_line})
// The run node is locked first (heartbeat), so a concurrent run_begin of the same id waits for
// this batch, and later batches of a superseded attempt write nothing (owned = false).
MATCH (m:ModelRun {id: $run})
SET m.heartbeat = datetime()
WITH m.status = 'writing' AND m.attempt = $attempt AS owned
CALL (owned) {
  UNWIND CASE WHEN owned THEN $rows ELSE [] END AS row
  MATCH (a:Gene {ensembl_id: row.src})
  MATCH (b:Gene {ensembl_id: row.dst})
  CREATE (a)-[r:PREDICTED_RESPONSE {run: $run, score: row.score, task: row.task,
                                    direction: row.direction, cell_line: row.cell_line}]->(b)
  RETURN count(r) AS n
}
RETURN owned, n;
