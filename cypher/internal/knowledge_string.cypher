// STRING links (INTERACTS_WITH, stored once per pair), from complete sources only: one row per stored pair.
// Parameters: $ok (complete sources, 'name@version'), $pending (staging ids of unfinished loads: what they created is skipped)
MATCH (a:Gene)-[r:INTERACTS_WITH]->(b:Gene)
WHERE r.source IN $ok AND NOT coalesce(r.load_created, '') IN $pending
RETURN a.ensembl_id AS src, b.ensembl_id AS dst, 0 AS sign,
       toFloat(coalesce(r.score, 1000)) / 1000.0 AS weight, r.source AS source;
