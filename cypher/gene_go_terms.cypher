// GO terms a gene is annotated with, by namespace, with evidence codes.
// Parameters: $symbol (gene symbol, e.g. 'TP53'), $limit (max rows, e.g. 25)
MATCH (g:Gene {symbol: $symbol})-[a:ANNOTATED_WITH]->(t:GOTerm)
RETURN g.ensembl_id AS gene, g.biotype_class AS class, t.namespace AS namespace,
       t.id AS go_id, t.name AS term, a.evidence AS evidence
ORDER BY namespace, term
LIMIT $limit;
