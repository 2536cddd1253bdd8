// GO biological-process term ids and Reactome pathway ids of each of a list of genes.
// Parameters: $ids (Ensembl ids)
UNWIND $ids AS id
MATCH (g:Gene {ensembl_id: id})
RETURN id,
       [(g)-[:ANNOTATED_WITH]->(t:GOTerm {namespace: 'biological_process'}) | t.id] AS go,
       [(g)-[:IN_PATHWAY]->(p:Pathway) | p.id] AS pw;
