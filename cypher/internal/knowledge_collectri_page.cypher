// CollecTRI regulation (REGULATES_EXPRESSION, TF -> target) leaving a page of genes, from complete sources only.
// Parameters: $ids (Ensembl ids of the page), $ok (complete sources, 'name@version')
UNWIND $ids AS gid
MATCH (a:Gene {ensembl_id: gid})-[r:REGULATES_EXPRESSION]->(b:Gene)
WHERE r.source IN $ok
RETURN a.ensembl_id AS src, b.ensembl_id AS dst, r.sign AS sign, 1.0 AS weight,
       r.source AS source;
