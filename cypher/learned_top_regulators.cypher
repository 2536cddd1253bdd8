// Top predicted regulators of a gene in a complete model run, strongest first.
// Parameters: $run (model run id, e.g. 'run-1'), $symbol (target gene symbol, e.g. 'TP53'), $limit (max rows, e.g. 10)
MATCH (m:ModelRun {id: $run, status: 'complete'})
MATCH (reg:Gene)-[r:PREDICTED_REGULATES {run: m.id}]->(g:Gene {symbol: $symbol})
RETURN reg.symbol AS regulator, reg.ensembl_id AS regulator_id, reg.biotype_class AS class,
       r.relation AS relation, r.score AS score, r.attention AS attention
ORDER BY score DESC, regulator_id
LIMIT $limit;
