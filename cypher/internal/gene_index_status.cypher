// Per biotype class: number of genes, how many carry an `idx`, and its range (a valid index is 0..n-1).
// Parameters: none
MATCH (g:Gene)
RETURN g.biotype_class AS cls, count(g) AS genes, count(g.idx) AS indexed,
       min(g.idx) AS min_idx, max(g.idx) AS max_idx, count(DISTINCT g.idx) AS distinct_idx
ORDER BY cls;
