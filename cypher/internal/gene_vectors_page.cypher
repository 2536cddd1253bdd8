// The vectors in property $prop of a page of genes (genes without one are left out).
// Parameters: $ids (Ensembl ids), $prop (feature property, feat_<modality>)
UNWIND $ids AS id
MATCH (g:Gene {ensembl_id: id})
WHERE g[$prop] IS NOT NULL
RETURN id, g[$prop] AS v;
