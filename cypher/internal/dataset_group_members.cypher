// The datasets of one group (the contexts of one import with --context-col), by name.
// Parameters: $group (the import's name)
MATCH (d:Dataset {group: $group})
RETURN d.name AS name, d.context AS context
ORDER BY name;
