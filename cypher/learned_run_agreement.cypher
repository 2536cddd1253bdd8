// Agreement of two complete runs per learned edge type: edges (distinct gene pairs) in each, in both, and their Jaccard index.
// Parameters: $run_a, $run_b (model run ids)
MATCH (ma:ModelRun {id: $run_a, status: 'complete'}), (mb:ModelRun {id: $run_b, status: 'complete'})
CALL (ma, mb) {
  MATCH (x:Gene)-[:PREDICTED_REGULATES {run: ma.id}]->(y:Gene)
  WITH DISTINCT x, y
  RETURN 'PREDICTED_REGULATES' AS type, count(*) AS in_a,
         sum(CASE WHEN EXISTS { (x)-[:PREDICTED_REGULATES {run: mb.id}]->(y) } THEN 1 ELSE 0 END) AS in_both
  UNION ALL
  MATCH (x:Gene)-[:SIMILAR_TO {run: ma.id}]->(y:Gene)
  WITH DISTINCT x, y
  RETURN 'SIMILAR_TO' AS type, count(*) AS in_a,
         sum(CASE WHEN EXISTS { (x)-[:SIMILAR_TO {run: mb.id}]->(y) } THEN 1 ELSE 0 END) AS in_both
  UNION ALL
  MATCH (x:Gene)-[:KHOP_LINK {run: ma.id}]->(y:Gene)
  WITH DISTINCT x, y
  RETURN 'KHOP_LINK' AS type, count(*) AS in_a,
         sum(CASE WHEN EXISTS { (x)-[:KHOP_LINK {run: mb.id}]->(y) } THEN 1 ELSE 0 END) AS in_both
}
CALL (mb, type) {
  CALL (mb, type) {
    WITH type WHERE type = 'PREDICTED_REGULATES'
    MATCH (x:Gene)-[:PREDICTED_REGULATES {run: mb.id}]->(y:Gene)
    WITH DISTINCT x, y RETURN count(*) AS n
    UNION ALL
    WITH type WHERE type = 'SIMILAR_TO'
    MATCH (x:Gene)-[:SIMILAR_TO {run: mb.id}]->(y:Gene)
    WITH DISTINCT x, y RETURN count(*) AS n
    UNION ALL
    WITH type WHERE type = 'KHOP_LINK'
    MATCH (x:Gene)-[:KHOP_LINK {run: mb.id}]->(y:Gene)
    WITH DISTINCT x, y RETURN count(*) AS n
  }
  RETURN sum(n) AS in_b
}
WITH type, in_a, in_b, in_both
WHERE in_a + in_b > 0
RETURN type, in_a, in_b, in_both, toFloat(in_both) / (in_a + in_b - in_both) AS jaccard
ORDER BY type;
