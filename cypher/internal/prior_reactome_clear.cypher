// Remove the Reactome prior edges owned by a page of genes (stored once per pair, from the smaller Ensembl id).
// Parameters: $ids (Ensembl ids of the page)
UNWIND $ids AS gid
MATCH (:Gene {ensembl_id: gid})-[old:PRIOR {kind: 'reactome'}]->(:Gene)
DELETE old;
