// Length of the feature vector stored in a property on genes of one class (null when no gene has it).
// Parameters: $cls ('c' or 'nc'), $prop (property name)
MATCH (g:Gene)
WHERE g.biotype_class = $cls AND g[$prop] IS NOT NULL
RETURN size(g[$prop]) AS dim
LIMIT 1;
