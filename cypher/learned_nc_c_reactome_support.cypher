// Learned edges between a non-coding and a coding gene in a complete run that share a Reactome pathway.
// Parameters: $run (model run id), $limit (max rows, e.g. 25)
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
MATCH (n)-[:IN_PATHWAY]->(p:Pathway)<-[:IN_PATHWAY]-(c)
WITH n, c, r, collect(DISTINCT p.name) AS pathways
RETURN n.symbol AS nc_gene, c.symbol AS c_gene, type(r) AS type, r.score AS score,
       size(pathways) AS shared_pathways, pathways[0..5] AS examples
ORDER BY score DESC, nc_gene, c_gene
LIMIT $limit;
