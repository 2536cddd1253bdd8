// Reactome pathways whose name matches, with their member genes split by biotype class (c / nc).
// Parameters: $name (case-insensitive substring of the pathway name, e.g. 'apoptosis'), $limit
MATCH (p:Pathway)
WHERE toLower(p.name) CONTAINS toLower($name)
OPTIONAL MATCH (g:Gene)-[:IN_PATHWAY]->(p)
WITH p, count(g) AS genes, sum(CASE g.biotype_class WHEN 'c' THEN 1 ELSE 0 END) AS coding,
     collect(g.symbol)[0..10] AS examples
OPTIONAL MATCH (p)-[:CHILD_OF]->(parent:Pathway)
RETURN p.id AS pathway, p.name AS name, p.level AS level, parent.name AS parent,
       genes, coding, genes - coding AS non_coding, examples
ORDER BY genes DESC
LIMIT $limit;
