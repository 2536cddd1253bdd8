// Constraints and indexes of the grape-kg graph.
// GENERATED from kg/schema.yaml by `grape kg schema --write`; do not edit by hand.
// Parameters: none. Safe to run repeatedly (IF NOT EXISTS).
CREATE CONSTRAINT gene_ensembl_id_unique IF NOT EXISTS FOR (n:Gene) REQUIRE (n.ensembl_id) IS UNIQUE;
CREATE INDEX gene_symbol IF NOT EXISTS FOR (n:Gene) ON (n.symbol);
CREATE INDEX gene_biotype_class IF NOT EXISTS FOR (n:Gene) ON (n.biotype_class);
CREATE INDEX gene_entrez_id IF NOT EXISTS FOR (n:Gene) ON (n.entrez_id);
CREATE INDEX gene_idx IF NOT EXISTS FOR (n:Gene) ON (n.idx);
CREATE CONSTRAINT goterm_id_unique IF NOT EXISTS FOR (n:GOTerm) REQUIRE (n.id) IS UNIQUE;
CREATE INDEX goterm_namespace IF NOT EXISTS FOR (n:GOTerm) ON (n.namespace);
CREATE CONSTRAINT pathway_id_unique IF NOT EXISTS FOR (n:Pathway) REQUIRE (n.id) IS UNIQUE;
CREATE INDEX pathway_level IF NOT EXISTS FOR (n:Pathway) ON (n.level);
CREATE CONSTRAINT dataset_name_unique IF NOT EXISTS FOR (n:Dataset) REQUIRE (n.name) IS UNIQUE;
CREATE CONSTRAINT condition_id_unique IF NOT EXISTS FOR (n:Condition) REQUIRE (n.id) IS UNIQUE;
CREATE INDEX condition_dataset IF NOT EXISTS FOR (n:Condition) ON (n.dataset);
CREATE CONSTRAINT modelrun_id_unique IF NOT EXISTS FOR (n:ModelRun) REQUIRE (n.id) IS UNIQUE;
CREATE INDEX modelrun_status IF NOT EXISTS FOR (n:ModelRun) ON (n.status);
CREATE CONSTRAINT source_name_version_unique IF NOT EXISTS FOR (n:Source) REQUIRE (n.name, n.version) IS UNIQUE;
CREATE CONSTRAINT synonym_name_unique IF NOT EXISTS FOR (n:Synonym) REQUIRE (n.name) IS UNIQUE;
CREATE CONSTRAINT externalgene_id_unique IF NOT EXISTS FOR (n:ExternalGene) REQUIRE (n.id) IS UNIQUE;
CREATE INDEX externalgene_symbol IF NOT EXISTS FOR (n:ExternalGene) ON (n.symbol);
CREATE CONSTRAINT footprint_name_unique IF NOT EXISTS FOR (n:Footprint) REQUIRE (n.name) IS UNIQUE;
CREATE CONSTRAINT geneset_name_unique IF NOT EXISTS FOR (n:GeneSet) REQUIRE (n.name) IS UNIQUE;
CREATE INDEX geneset_collection IF NOT EXISTS FOR (n:GeneSet) ON (n.collection);
CREATE INDEX prior_params_hash IF NOT EXISTS FOR ()-[r:PRIOR]-() ON (r.params_hash);
CREATE INDEX similar_to_run IF NOT EXISTS FOR ()-[r:SIMILAR_TO]-() ON (r.run);
CREATE INDEX khop_link_run IF NOT EXISTS FOR ()-[r:KHOP_LINK]-() ON (r.run);
CREATE INDEX predicted_regulates_run IF NOT EXISTS FOR ()-[r:PREDICTED_REGULATES]-() ON (r.run);
CREATE INDEX predicted_response_run IF NOT EXISTS FOR ()-[r:PREDICTED_RESPONSE]-() ON (r.run);
