// Store feature vectors on genes of one class by idx (the property named in each row's map).
// Parameters: $cls ('c' or 'nc'), $rows (list of {idx, props: {<property>: [floats]}})
UNWIND $rows AS row
MATCH (g:Gene {idx: row.idx})
WHERE g.biotype_class = $cls
SET g += row.props
RETURN count(g) AS n;
