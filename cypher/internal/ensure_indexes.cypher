// Indexes and constraints the exporter, the PyG stores and model write-back rely on (idempotent).
// Parameters: none. Several statements, separated by semicolons; safe to run repeatedly.
CREATE INDEX gene_idx IF NOT EXISTS FOR (n:Gene) ON (n.idx);
CREATE CONSTRAINT modelrun_id_unique IF NOT EXISTS FOR (n:ModelRun) REQUIRE (n.id) IS UNIQUE;
CREATE INDEX modelrun_status IF NOT EXISTS FOR (n:ModelRun) ON (n.status);
CREATE INDEX prior_params_hash IF NOT EXISTS FOR ()-[r:PRIOR]-() ON (r.params_hash);
CREATE INDEX similar_to_run IF NOT EXISTS FOR ()-[r:SIMILAR_TO]-() ON (r.run);
CREATE INDEX khop_link_run IF NOT EXISTS FOR ()-[r:KHOP_LINK]-() ON (r.run);
CREATE INDEX predicted_regulates_run IF NOT EXISTS FOR ()-[r:PREDICTED_REGULATES]-() ON (r.run);
