// STRING interaction partners of a page of genes, either direction (each undirected pair is stored once), optionally above a score.
// Parameters: $ids (Ensembl ids), $min_score (lowest INTERACTS_WITH score kept, or null for all)
UNWIND $ids AS gid
MATCH (g:Gene {ensembl_id: gid})-[r:INTERACTS_WITH]-(h:Gene)
WHERE $min_score IS NULL OR r.score >= $min_score
RETURN gid AS id, collect(DISTINCT h.ensembl_id) AS neighbours;
