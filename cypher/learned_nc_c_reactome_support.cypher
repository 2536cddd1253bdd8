// Learned nc-c gene pairs of a complete run with the Reactome pathway that supports them best: a pathway of the coding partner shared with the nc gene or holding other coding partners of the same nc gene.
// Parameters: $run (model run id), $limit (max rows, e.g. 25)
// Reactome annotates few non-coding genes, so the support of an nc-c pair is mostly indirect:
// `partners` counts the nc gene's other learned coding partners (same run) in the pathway shown,
// `shared` says whether the nc gene is in it itself, and support = (partners + shared) / the
// pathway's gene count, so a small pathway holding several partners outranks a top-level one
// (Signal Transduction, thousands of genes) holding as many.
MATCH (m:ModelRun {id: $run, status: 'complete'})
CALL (m) {
  MATCH (n:Gene {biotype_class: 'nc'})-[r:PREDICTED_REGULATES {run: m.id}]->(c:Gene {biotype_class: 'c'})
  RETURN n, c, r
  UNION ALL
  MATCH (n:Gene {biotype_class: 'nc'})-[r:SIMILAR_TO {run: m.id}]-(c:Gene {biotype_class: 'c'})
  RETURN n, c, r
  UNION ALL
  MATCH (n:Gene {biotype_class: 'nc'})-[r:KHOP_LINK {run: m.id}]-(c:Gene {biotype_class: 'c'})
  RETURN n, c, r
}
WITH m, n, c, max(r.score) AS score, collect(DISTINCT type(r)) AS types
CALL (m, n, c) {
  MATCH (c)-[:IN_PATHWAY]->(p:Pathway)
  WITH p,
       EXISTS { (n)-[:IN_PATHWAY]->(p) } AS shared,
       COUNT {
         MATCH (n)-[x]-(o:Gene {biotype_class: 'c'})-[:IN_PATHWAY]->(p)
         WHERE o <> c AND x.run = m.id AND type(x) IN ['PREDICTED_REGULATES', 'SIMILAR_TO', 'KHOP_LINK']
       } AS others,
       COUNT { (p)<-[:IN_PATHWAY]-() } AS size
  WHERE shared OR others > 0
  WITH p, shared, others, size, toFloat(others + CASE WHEN shared THEN 1 ELSE 0 END) / size AS support
  ORDER BY support DESC, p.level DESC, p.name
  RETURN collect(p.name)[0] AS pathway, collect(size)[0] AS pathway_genes,
         collect(others)[0] AS partners, collect(shared)[0] AS shared,
         max(support) AS support, count(p) AS pathways
}
WITH n, c, score, types, pathway, pathway_genes, partners, shared, support, pathways
WHERE pathways > 0
RETURN n.symbol AS nc_gene, c.symbol AS c_gene, types, score, pathway, pathway_genes, partners,
       shared, round(support, 4) AS support
ORDER BY support DESC, score DESC, nc_gene, c_gene
LIMIT $limit;
