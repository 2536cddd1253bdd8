// Remove the GO-Jaccard prior edges owned by a page of genes (edges point neighbour -> gene, owned by the gene).
// Parameters: $ids (Ensembl ids of the page)
UNWIND $ids AS gid
MATCH (:Gene)-[old:PRIOR {kind: 'go_jaccard'}]->(:Gene {ensembl_id: gid})
DELETE old;
