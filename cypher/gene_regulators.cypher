// Transcription factors that regulate a gene (CollecTRI), with the sign of each regulation; one row with null regulator when the gene has none in the graph.
// Parameters: $symbol (gene symbol, e.g. 'CDKN1A'), $limit (max rows, e.g. 25)
MATCH (g:Gene {symbol: $symbol})
OPTIONAL MATCH (tf:Gene)-[r:REGULATES_EXPRESSION]->(g)
RETURN g.symbol AS gene, tf.symbol AS regulator, tf.ensembl_id AS regulator_id, r.sign AS sign,
       size(coalesce(r.pmids, [])) AS n_pmids, r.source AS source
ORDER BY sign DESC, regulator
LIMIT $limit;
