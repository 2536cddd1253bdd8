// What knocking down a gene does in a cell line, as learned label runs predict it: the downstream genes with P(differentially expressed) and P(up), most likely moved first (complete runs only; each probability is the mean over the runs of that task).
// Parameters: $symbol (perturbed gene symbol, e.g. 'AAMP'), $cell_line (e.g. 'k562'), $limit (max rows, e.g. 20)
MATCH (p:Gene {symbol: $symbol})-[r:PREDICTED_RESPONSE {cell_line: $cell_line}]->(g:Gene)
MATCH (m:ModelRun {id: r.run, status: 'complete'})
WITH g, r.task AS task, avg(r.score) AS prob, count(DISTINCT m) AS runs
WITH g,
     max(CASE WHEN task = 'de' THEN prob END) AS p_de,
     max(CASE WHEN task = 'direction' THEN prob END) AS p_up,
     sum(runs) AS runs
RETURN g.symbol AS gene, g.ensembl_id AS gene_id, p_de, p_up,
       CASE WHEN p_up IS NULL THEN null WHEN p_up >= 0.5 THEN 'up' ELSE 'down' END AS direction,
       runs
ORDER BY coalesce(p_de, 0.0) DESC, coalesce(abs(p_up - 0.5), 0.0) DESC, gene_id
LIMIT $limit;
