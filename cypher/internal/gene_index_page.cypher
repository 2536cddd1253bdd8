// Give the genes of one page a contiguous per-class index `idx` ($offset, $offset+1, ...), writing only changed values.
// Parameters: $ids (Ensembl ids of the page, in order, all of one class), $offset (idx of the first)
UNWIND range(0, size($ids) - 1) AS i
MATCH (g:Gene {ensembl_id: $ids[i]})
WITH g, $offset + i AS idx
WHERE g.idx IS NULL OR g.idx <> idx
SET g.idx = idx
RETURN count(g) AS changed;
