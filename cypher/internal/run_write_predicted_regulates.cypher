// Write predicted regulation edges of a run (directed regulator -> target), idempotent on (src, dst, run).
// Parameters: $run (run id), $rows (list of {src, dst, score, relation (cc|cn|nn, or null to derive from the biotype classes), attention})
UNWIND $rows AS row
MATCH (a:Gene {ensembl_id: row.src})
MATCH (b:Gene {ensembl_id: row.dst})
MERGE (a)-[r:PREDICTED_REGULATES {run: $run}]->(b)
SET r.score = row.score, r.attention = row.attention,
    r.relation = coalesce(row.relation, CASE a.biotype_class + b.biotype_class
                 WHEN 'cc' THEN 'cc' WHEN 'ncnc' THEN 'nn' ELSE 'cn' END)
RETURN count(r) AS n;
