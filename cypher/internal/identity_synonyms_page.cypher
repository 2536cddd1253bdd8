// One page of gene synonyms (Synonym names after $after, in name order) with the KG genes each names and the kind of name, from complete sources only.
// Parameters: $after (string, '' for the first page), $page (int)
MATCH (src:Source {status: 'complete'})
WITH collect(src.name + '@' + src.version) AS ok
MATCH (s:Synonym)
WHERE s.name > $after
WITH s, ok ORDER BY s.name LIMIT $page
OPTIONAL MATCH (s)-[r:SYNONYM_OF]->(g:Gene)
WHERE r.source IN ok
RETURN s.name AS name,
       collect(CASE WHEN g IS NULL THEN null ELSE [g.ensembl_id, r.kind] END) AS hits
ORDER BY name
