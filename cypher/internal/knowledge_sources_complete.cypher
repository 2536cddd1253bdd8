// The complete loads of the named sources, as the 'name@version' stamps their records carry.
// Parameters: $names (source names, e.g. ['string'])
MATCH (s:Source {status: 'complete'})
WHERE s.name IN $names
RETURN s.name + '@' + s.version AS stamp
ORDER BY stamp;
