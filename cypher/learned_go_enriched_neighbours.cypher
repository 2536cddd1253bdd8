// Genes whose learned neighbours in a complete run are enriched for a GO term (fold enrichment over the genome-wide rate).
// Parameters: $run (model run id), $go_id (GO term id, e.g. 'GO:0006281'), $min_hits (neighbours with the term, e.g. 1), $limit
MATCH (m:ModelRun {id: $run, status: 'complete'})
MATCH (t:GOTerm {id: $go_id})
CALL (t) {
  MATCH (g:Gene) WITH count(g) AS genes
  RETURN toFloat(COUNT { (:Gene)-[:ANNOTATED_WITH]->(t) }) / genes AS background
}
CALL (m) {
  MATCH (g:Gene)-[r:PREDICTED_REGULATES|SIMILAR_TO|KHOP_LINK]-(h:Gene)
  WHERE r.run = m.id
  RETURN g, collect(DISTINCT h) AS neighbours
}
WITH t, background, g, neighbours,
     size([h IN neighbours WHERE EXISTS { (h)-[:ANNOTATED_WITH]->(t) }]) AS hits
WHERE hits >= $min_hits AND background > 0
RETURN g.symbol AS gene, g.biotype_class AS class, size(neighbours) AS neighbours, hits,
       toFloat(hits) / size(neighbours) / background AS fold_enrichment, t.name AS term
ORDER BY fold_enrichment DESC, hits DESC, gene
LIMIT $limit;
