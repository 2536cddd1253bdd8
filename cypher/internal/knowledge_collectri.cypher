// CollecTRI regulation (REGULATES_EXPRESSION, TF -> target), from complete sources only.
// Parameters: $ok (complete sources, 'name@version'), $pending (staging ids of unfinished loads: what they created is skipped)
MATCH (a:Gene)-[r:REGULATES_EXPRESSION]->(b:Gene)
WHERE r.source IN $ok AND NOT coalesce(r.load_created, '') IN $pending
RETURN a.ensembl_id AS src, b.ensembl_id AS dst, r.sign AS sign, 1.0 AS weight,
       r.source AS source;
