"""Export from Neo4j to the GPU side: prior gene-gene edges materialised in the graph
(:mod:`.priors`), paged readers of gene sets and edges (:mod:`.reader`), the typed c/nc
heterogeneous graph and its file formats (:mod:`.hetero`, :mod:`.formats`), and Neo4j-backed
PyG ``FeatureStore`` / ``GraphStore`` (:mod:`.stores`)."""
