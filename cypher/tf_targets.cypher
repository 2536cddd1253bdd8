// Signed targets of a transcription factor (CollecTRI): +1 activation, -1 repression, with the supporting PubMed ids; one row with null target when the gene has none in the graph.
// Parameters: $symbol (the TF's gene symbol, e.g. 'TP53'), $limit (max rows, e.g. 25)
MATCH (tf:Gene {symbol: $symbol})
OPTIONAL MATCH (tf)-[r:REGULATES_EXPRESSION]->(t:Gene)
RETURN tf.symbol AS tf, t.symbol AS target, t.ensembl_id AS target_id, r.sign AS sign,
       size(coalesce(r.pmids, [])) AS n_pmids, r.pmids[0..5] AS pmids, r.source AS source
ORDER BY sign DESC, target
LIMIT $limit;
