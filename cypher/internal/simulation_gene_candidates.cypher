// Every gene with a symbol, its biotype and class, and how many GO annotations and Reactome pathways it has (candidates for simulated data).
// Parameters: none
MATCH (g:Gene)
WHERE g.symbol IS NOT NULL
RETURN g.ensembl_id AS ensembl_id, g.symbol AS symbol, g.biotype_class AS cls,
       g.biotype AS biotype, COUNT { (g)-[:ANNOTATED_WITH]->() } AS n_go,
       COUNT { (g)-[:IN_PATHWAY]->() } AS n_pw
ORDER BY g.ensembl_id;
