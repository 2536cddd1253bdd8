// Learned edges of a complete run that no prior edge (GO Jaccard, Reactome) explains and no shared name stem makes self-evident: novel candidates.
// Parameters: $run (model run id), $min_score (e.g. 0.0), $limit (max rows, e.g. 25)
// A pair whose symbols share their leading letters up to a digit (LINC01203 / LINC01206,
// CDK2 / CDK4: family members, whose near-identical descriptions make their text features
// alike) is left out: such neighbours are self-evident, not discoveries.
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
  AND NOT any(k IN range(2, size(a.symbol) - 1)
              WHERE left(a.symbol, k) = left(b.symbol, k)
                AND NOT left(a.symbol, k) =~ '.*[0-9].*'
                AND substring(a.symbol, k, 1) =~ '[0-9]'
                AND substring(b.symbol, k, 1) =~ '[0-9]')
RETURN a.symbol AS source, b.symbol AS target, a.biotype_class + '-' + b.biotype_class AS classes,
       type(r) AS type, r.score AS score
ORDER BY score DESC, source, target
LIMIT $limit;
