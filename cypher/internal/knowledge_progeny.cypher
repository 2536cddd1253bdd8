// PROGENy footprint memberships (IN_FOOTPRINT, gene -> pathway footprint), from complete sources only.
// Parameters: $ok (complete sources, 'name@version'), $pending (staging ids of unfinished loads: what they created is skipped)
MATCH (a:Gene)-[r:IN_FOOTPRINT]->(f:Footprint)
WHERE r.source IN $ok AND NOT coalesce(r.load_created, '') IN $pending
RETURN a.ensembl_id AS src, f.name AS dst, r.sign AS sign, r.weight AS weight,
       r.source AS source;
