// Gene-set memberships (IN_GENE_SET, gene -> gene set), from complete sources only.
// Parameters: $ok (complete sources, 'name@version'), $pending (staging ids of unfinished loads: what they created is skipped)
MATCH (a:Gene)-[r:IN_GENE_SET]->(s:GeneSet)
WHERE r.source IN $ok AND NOT coalesce(r.load_created, '') IN $pending
RETURN a.ensembl_id AS src, s.name AS dst, r.sign AS sign, 1.0 AS weight,
       r.source AS source;
