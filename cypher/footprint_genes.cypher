// The genes of a PROGENy pathway footprint (e.g. 'p53', 'TNFa', 'JAK-STAT'), most significant first, with signed weights; one row with null gene when no such footprint is loaded.
// Parameters: $name (footprint name, e.g. 'p53'), $limit (max rows, e.g. 25)
UNWIND [$name] AS wanted
OPTIONAL MATCH (g:Gene)-[r:IN_FOOTPRINT]->(f:Footprint {name: wanted})
RETURN wanted AS footprint, g.symbol AS gene, g.ensembl_id AS gene_id, r.weight AS weight,
       r.sign AS sign, r.p_value AS p_value
ORDER BY p_value, gene
LIMIT $limit;
