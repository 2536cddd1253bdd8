// Lowest-level Reactome pathways of a page of genes (BioDSNN's "L1" pathways): the pathways a gene is in that have no child pathway (CHILD_OF, child -> parent) holding the same gene; one row per gene in at least one pathway.
// Parameters: $ids (Ensembl ids)
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})-[:IN_PATHWAY]->(p:Pathway)
WHERE NOT EXISTS { MATCH (g)-[:IN_PATHWAY]->(:Pathway)-[:CHILD_OF]->(p) }
RETURN gid AS id, collect(p.id) AS pathways;
