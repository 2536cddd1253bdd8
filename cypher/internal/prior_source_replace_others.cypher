// Mark every other parameter set of a prior kind as replaced (its edges were rewritten by the new build).
// Parameters: $name ('prior.<kind>'), $version (the current params hash)
MATCH (s:Source {name: $name})
WHERE s.version <> $version AND s.status <> 'replaced'
SET s.status = 'replaced'
RETURN count(s) AS replaced;
