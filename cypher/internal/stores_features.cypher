// Feature vectors of genes addressed by (biotype class, idx), several node types in one round trip.
// Parameters: $requests (list of {key, cls, prop, ids}: ids = idx values, prop = gene property holding a float list)
UNWIND $requests AS req
MATCH (g:Gene)
WHERE g.idx IN req.ids AND g.biotype_class = req.cls
RETURN req.key AS key, g.idx AS idx, g[req.prop] AS x;
