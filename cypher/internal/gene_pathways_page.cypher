// Reactome pathway ids of a page of genes (one row per gene in at least one pathway).
// Parameters: $ids (Ensembl ids)
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})-[:IN_PATHWAY]->(p:Pathway)
RETURN gid AS id, collect(p.id) AS pathways;
