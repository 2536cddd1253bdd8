// Delete up to $page learned edges of each type of one run (call until it returns 0).
// Parameters: $run (run id), $page (edges per type and call)
CALL () {
  MATCH ()-[r:SIMILAR_TO {run: $run}]->() WITH r LIMIT $page DELETE r RETURN count(*) AS n
  UNION ALL
  MATCH ()-[r:KHOP_LINK {run: $run}]->() WITH r LIMIT $page DELETE r RETURN count(*) AS n
  UNION ALL
  MATCH ()-[r:PREDICTED_REGULATES {run: $run}]->() WITH r LIMIT $page DELETE r RETURN count(*) AS n
  UNION ALL
  MATCH ()-[r:PREDICTED_RESPONSE {run: $run}]->() WITH r LIMIT $page DELETE r RETURN count(*) AS n
}
RETURN sum(n) AS deleted;
