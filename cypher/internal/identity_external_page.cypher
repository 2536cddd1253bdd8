// One page of genes outside the KG's Ensembl release (retired Ensembl genes, NCBI-only genes), in id order, from complete sources only.
// Parameters: $after (string, '' for the first page), $page (int)
MATCH (src:Source {status: 'complete'})
WITH collect(src.name + '@' + src.version) AS ok
MATCH (x:ExternalGene)
WHERE x.id > $after AND x.source IN ok
RETURN x.id AS id, x.symbol AS symbol, x.status AS status
ORDER BY id LIMIT $page
