// Symbol and description of a page of genes; with $enrich, the names of their first $k GO biological-process terms and Reactome pathways.
// Parameters: $ids (Ensembl ids), $enrich (boolean), $k (most names per list)
UNWIND $ids AS id
MATCH (g:Gene {ensembl_id: id})
RETURN id, g.symbol AS symbol, g.description AS description,
       CASE WHEN $enrich THEN [(g)-[:ANNOTATED_WITH]->(t:GOTerm {namespace: 'biological_process'}) | t.name][0..$k] ELSE [] END AS go,
       CASE WHEN $enrich THEN [(g)-[:IN_PATHWAY]->(p:Pathway) | p.name][0..$k] ELSE [] END AS pw;
