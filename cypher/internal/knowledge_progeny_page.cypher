// PROGENy footprint memberships (IN_FOOTPRINT, gene -> pathway footprint) of a page of genes, from complete sources only.
// Parameters: $ids (Ensembl ids of the page), $ok (complete sources, 'name@version'), $pending (staging ids of unfinished loads: what they created is skipped)
UNWIND $ids AS gid
MATCH (a:Gene {ensembl_id: gid})-[r:IN_FOOTPRINT]->(f:Footprint)
WHERE r.source IN $ok AND NOT coalesce(r.load_created, '') IN $pending
RETURN a.ensembl_id AS src, f.name AS dst, r.sign AS sign, r.weight AS weight,
       r.source AS source;
