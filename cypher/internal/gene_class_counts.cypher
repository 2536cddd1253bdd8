// Genes per biotype class.
// Parameters: none
MATCH (g:Gene)
RETURN g.biotype_class AS cls, count(*) AS n
ORDER BY cls;
