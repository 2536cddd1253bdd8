// Gene neighbours (either direction) of a page of genes over the selected edge types, for K-hop expansion.
// Parameters: $ids (Ensembl ids), $types (relationship types), $prior_hashes (params hashes of PRIOR edges to use), $runs (complete model runs of learned edges)
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})-[r:$any($types)]-(h:Gene)
WHERE (type(r) <> 'PRIOR' OR r.params_hash IN $prior_hashes)
  AND (NOT type(r) IN ['SIMILAR_TO', 'KHOP_LINK', 'PREDICTED_REGULATES'] OR r.run IN $runs)
RETURN DISTINCT h.ensembl_id AS id;
