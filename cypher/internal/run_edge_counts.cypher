// Learned edges of one run per relationship type (any run status).
// Parameters: $run (run id)
CALL () {
  MATCH ()-[r:SIMILAR_TO {run: $run}]->() RETURN 'SIMILAR_TO' AS type, count(r) AS n
  UNION ALL
  MATCH ()-[r:KHOP_LINK {run: $run}]->() RETURN 'KHOP_LINK' AS type, count(r) AS n
  UNION ALL
  MATCH ()-[r:PREDICTED_REGULATES {run: $run}]->() RETURN 'PREDICTED_REGULATES' AS type, count(r) AS n
  UNION ALL
  MATCH ()-[r:PREDICTED_RESPONSE {run: $run}]->() RETURN 'PREDICTED_RESPONSE' AS type, count(r) AS n
}
RETURN type, n;
