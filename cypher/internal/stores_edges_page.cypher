// Neighbours (either direction, selected edge types) of genes of class $cls with idx in [$lo, $hi), towards genes of class $dst_cls, as idx.
// Parameters: $cls, $dst_cls ('c' or 'nc'), $lo, $hi (idx range of the page), $types, $prior_hashes, $runs
MATCH (g:Gene)
WHERE g.idx >= $lo AND g.idx < $hi AND g.biotype_class = $cls
MATCH (g)-[r:$any($types)]-(h:Gene)
WHERE h.biotype_class = $dst_cls AND h <> g
  AND (type(r) <> 'PRIOR' OR r.params_hash IN $prior_hashes)
  AND (NOT type(r) IN ['SIMILAR_TO', 'KHOP_LINK', 'PREDICTED_REGULATES'] OR r.run IN $runs)
RETURN g.idx AS src, collect(h.idx) AS dst;
