// Physical interaction partners of a gene (STRING), strongest first. INTERACTS_WITH is stored once per pair, so it is matched without direction; one row with null partner when the gene has none.
// Parameters: $symbol (gene symbol, e.g. 'TP53'), $limit (max rows, e.g. 25)
MATCH (g:Gene {symbol: $symbol})
OPTIONAL MATCH (g)-[r:INTERACTS_WITH]-(p:Gene)
RETURN g.symbol AS gene, p.symbol AS partner, p.ensembl_id AS partner_id, r.score AS score,
       r.network AS network, r.source AS source
ORDER BY score DESC, partner
LIMIT $limit;
