// Genes of one page with symbol, biotype class and the feature vector stored in property $feature (null when absent).
// Parameters: $ids (Ensembl ids), $feature (property name holding a float list, or '' for none)
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})
RETURN g.ensembl_id AS id, g.symbol AS symbol, g.biotype_class AS cls,
       CASE WHEN $feature = '' THEN null ELSE g[$feature] END AS x;
