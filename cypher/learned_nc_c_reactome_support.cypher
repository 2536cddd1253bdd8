// Learned nc-c edges of a complete run with the Reactome pathways that support them: pathways of the coding partner shared with the nc gene or holding other coding partners of the same nc gene.
// Parameters: $run (model run id), $limit (max rows, e.g. 25)
// Reactome annotates few non-coding genes, so the support of an nc-c edge is mostly indirect:
// `partners_in_pathway` counts the nc gene's other learned coding partners (same run) in the
// coding partner's pathways; `shared` says whether the nc gene is in such a pathway itself.
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
CALL (m, n, c) {
  MATCH (c)-[:IN_PATHWAY]->(p:Pathway)
  WITH p,
       EXISTS { (n)-[:IN_PATHWAY]->(p) } AS shared,
       COUNT {
         MATCH (n)-[x]-(o:Gene {biotype_class: 'c'})-[:IN_PATHWAY]->(p)
         WHERE o <> c AND x.run = m.id AND type(x) IN ['PREDICTED_REGULATES', 'SIMILAR_TO', 'KHOP_LINK']
       } AS others
  ORDER BY shared DESC, others DESC, p.name
  RETURN collect(p.name)[0..3] AS pathways,
         max(CASE WHEN shared THEN 1 ELSE 0 END) = 1 AS shared,
         coalesce(max(others), 0) AS partners_in_pathway
}
WITH n, c, r, pathways, shared, partners_in_pathway
WHERE size(pathways) > 0
RETURN n.symbol AS nc_gene, c.symbol AS c_gene, type(r) AS type, r.score AS score,
       shared, partners_in_pathway, pathways
ORDER BY shared DESC, partners_in_pathway DESC, score DESC, nc_gene, c_gene
LIMIT $limit;
