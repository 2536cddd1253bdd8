// Edges leaving a page of genes towards genes of the export, as positions in the export's gene list, grouped per source gene.
// Parameters: $ids (Ensembl ids of the page), $pos (map Ensembl id -> position of every exported gene), $types, $prior_hashes, $runs, $kind_codes (map kind name -> code)
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})-[r:$any($types)]->(h:Gene)
WHERE $pos[h.ensembl_id] IS NOT NULL
  AND (type(r) <> 'PRIOR' OR r.params_hash IN $prior_hashes)
  AND (NOT type(r) IN ['SIMILAR_TO', 'KHOP_LINK', 'PREDICTED_REGULATES'] OR r.run IN $runs)
WITH g, h, r,
     CASE WHEN type(r) = 'PRIOR' THEN r.kind
          WHEN r.run IS NOT NULL THEN type(r) + '@' + r.run
          ELSE type(r) END AS kind
RETURN $pos[g.ensembl_id] AS src, collect($pos[h.ensembl_id]) AS dst,
       collect(toFloat(coalesce(r.weight, r.score, 1.0))) AS weight,
       collect($kind_codes[kind]) AS kind;
