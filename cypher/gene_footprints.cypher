// PROGENy pathway footprints a gene belongs to, with its signed response weight and p-value; one row with null footprint when the gene is in none.
// Parameters: $symbol (gene symbol, e.g. 'CDKN1A'), $limit (max rows, e.g. 25)
MATCH (g:Gene {symbol: $symbol})
OPTIONAL MATCH (g)-[r:IN_FOOTPRINT]->(f:Footprint)
RETURN g.symbol AS gene, f.name AS footprint, r.weight AS weight, r.sign AS sign,
       r.p_value AS p_value, r.source AS source
ORDER BY p_value, footprint
LIMIT $limit;
