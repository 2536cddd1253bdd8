// Attention and score of predicted regulation in a complete run, summarised per relation (cc / cn / nn).
// Parameters: $run (model run id)
MATCH (m:ModelRun {id: $run, status: 'complete'})
MATCH (:Gene)-[r:PREDICTED_REGULATES {run: m.id}]->(:Gene)
RETURN r.relation AS relation, count(r) AS edges,
       avg(r.attention) AS mean_attention, stDev(r.attention) AS sd_attention,
       max(r.attention) AS max_attention, avg(r.score) AS mean_score
ORDER BY relation;
