// Which knock-downs move a gene in a cell line, as learned label runs predict it: perturbed genes ranked by P(the gene is differentially expressed), with P(up) where a direction run predicts it (complete runs only; mean over runs of a task).
// Parameters: $symbol (downstream gene symbol, e.g. 'BTG1'), $cell_line (e.g. 'k562'), $limit (max rows, e.g. 20)
MATCH (p:Gene)-[r:PREDICTED_RESPONSE {cell_line: $cell_line}]->(g:Gene {symbol: $symbol})
MATCH (m:ModelRun {id: r.run, status: 'complete'})
WITH p, r.task AS task, avg(r.score) AS prob, count(DISTINCT m) AS runs
WITH p,
     max(CASE WHEN task = 'de' THEN prob END) AS p_de,
     max(CASE WHEN task = 'direction' THEN prob END) AS p_up,
     sum(runs) AS runs
RETURN p.symbol AS perturbation, p.ensembl_id AS perturbation_id, p_de, p_up,
       CASE WHEN p_up IS NULL THEN null WHEN p_up >= 0.5 THEN 'up' ELSE 'down' END AS direction,
       runs
ORDER BY coalesce(p_de, 0.0) DESC, coalesce(abs(p_up - 0.5), 0.0) DESC, perturbation_id
LIMIT $limit;
