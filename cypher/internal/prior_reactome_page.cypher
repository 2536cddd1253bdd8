// Reactome prior for a page of genes: pairs sharing a pathway of hierarchy level $level; weight = number of shared pathways.
// Parameters: $ids (Ensembl ids of the page), $level (1 = top level), $max_pathway_genes (skip larger pathways; null = no limit), $params_hash, $source
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})-[:IN_PATHWAY]->(p:Pathway {level: $level})
WHERE $max_pathway_genes IS NULL OR COUNT { (p)<-[:IN_PATHWAY]-(:Gene) } <= $max_pathway_genes
MATCH (p)<-[:IN_PATHWAY]-(h:Gene)
WHERE h.ensembl_id > g.ensembl_id
WITH g, h, count(p) AS shared
CREATE (g)-[:PRIOR {kind: 'reactome', weight: toFloat(shared), params_hash: $params_hash, source: $source}]->(h)
RETURN count(*) AS edges;
