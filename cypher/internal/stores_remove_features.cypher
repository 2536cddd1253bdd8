// Remove a feature property from the genes of one class (setting a property to null removes it).
// Parameters: $cls ('c' or 'nc'), $prop (property name), $unset (map {<prop>: null})
MATCH (g:Gene)
WHERE g.biotype_class = $cls AND g[$prop] IS NOT NULL
SET g += $unset
RETURN count(g) AS n;
