// Gene sets (MSigDB or any GMT) a gene belongs to, with the sign of its membership (+1 up, -1 down, 0 unsigned); one row with null set when it is in none.
// Parameters: $symbol (gene symbol, e.g. 'TP53'), $limit (max rows, e.g. 25)
MATCH (g:Gene {symbol: $symbol})
OPTIONAL MATCH (g)-[r:IN_GENE_SET]->(s:GeneSet)
RETURN g.symbol AS gene, s.name AS gene_set, s.collection AS collection, r.sign AS sign,
       r.source AS source
ORDER BY collection, gene_set
LIMIT $limit;
