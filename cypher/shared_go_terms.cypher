// GO biological-process terms two genes share (the basis of GEARS-style GO Jaccard edges).
// Parameters: $a, $b (gene symbols, e.g. 'BRCA1' and 'BRCA2')
MATCH (x:Gene {symbol: $a})-[:ANNOTATED_WITH]->(t:GOTerm {namespace: 'biological_process'})
      <-[:ANNOTATED_WITH]-(y:Gene {symbol: $b})
RETURN t.id AS go_id, t.name AS term
ORDER BY term;
