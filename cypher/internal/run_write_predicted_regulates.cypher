// Create predicted regulation edges of a run (directed regulator -> target); the run's edges are cleared first and rows are unique per (src, dst).
// Parameters: $run (run id), $rows (list of {src, dst, score, relation (cc|cn|nn, or null to derive from the biotype classes), attention})
// CREATE, not MERGE: write_run deletes the run's edges before writing and collapses duplicate
// rows in Python, so each (src, dst, run) is created once. A MERGE keyed on {run: $run} is
// planned as a seek of the run's relationship index per row, which is quadratic in run size.
UNWIND $rows AS row
MATCH (a:Gene {ensembl_id: row.src})
MATCH (b:Gene {ensembl_id: row.dst})
CREATE (a)-[r:PREDICTED_REGULATES {run: $run, score: row.score, attention: row.attention}]->(b)
SET r.relation = coalesce(row.relation, CASE a.biotype_class + b.biotype_class
                 WHEN 'cc' THEN 'cc' WHEN 'ncnc' THEN 'nn' ELSE 'cn' END)
RETURN count(r) AS n;
