// GEARS GO prior for a page of genes: Jaccard of GO term sets, keep weight > $threshold, the top $top_k neighbours per gene.
// Parameters: $ids (Ensembl ids of the page), $namespace (GO namespace, or null for all), $threshold (e.g. 0.1), $top_k (e.g. 20), $params_hash, $source
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})-[:ANNOTATED_WITH]->(t:GOTerm)
WHERE $namespace IS NULL OR t.namespace = $namespace
WITH g, count(t) AS ng, collect(t) AS ts
UNWIND ts AS t
MATCH (t)<-[:ANNOTATED_WITH]-(h:Gene)
WHERE h <> g
WITH g, ng, h, count(t) AS shared
WITH h, collect({g: g, ng: ng, shared: shared}) AS pairs
WITH h, pairs, COUNT { (h)-[:ANNOTATED_WITH]->(t2:GOTerm)
                       WHERE $namespace IS NULL OR t2.namespace = $namespace } AS nh
UNWIND pairs AS p
WITH p.g AS g, h, toFloat(p.shared) / (p.ng + nh - p.shared) AS w
WHERE w > $threshold
WITH g, h, w ORDER BY w DESC, h.ensembl_id
WITH g, collect({h: h, w: w})[0..$top_k] AS top
UNWIND top AS x
WITH g, x.h AS h, x.w AS w
CREATE (h)-[:PRIOR {kind: 'go_jaccard', weight: w, params_hash: $params_hash, source: $source}]->(g)
RETURN count(*) AS edges;
