// Learned edges of a complete run that no prior edge (GO Jaccard, Reactome) explains: novel candidates.
// Parameters: $run (model run id), $min_score (e.g. 0.0), $limit (max rows, e.g. 25)
MATCH (m:ModelRun {id: $run, status: 'complete'})
CALL (m) {
  MATCH (a:Gene)-[r:PREDICTED_REGULATES {run: m.id}]->(b:Gene) RETURN a, b, r
  UNION ALL
  MATCH (a:Gene)-[r:SIMILAR_TO {run: m.id}]->(b:Gene) RETURN a, b, r
  UNION ALL
  MATCH (a:Gene)-[r:KHOP_LINK {run: m.id}]->(b:Gene) RETURN a, b, r
}
WITH a, b, r
WHERE r.score >= $min_score AND NOT EXISTS { (a)-[:PRIOR]-(b) }
RETURN a.symbol AS source, b.symbol AS target, a.biotype_class + '-' + b.biotype_class AS classes,
       type(r) AS type, r.score AS score
ORDER BY score DESC, source, target
LIMIT $limit;
