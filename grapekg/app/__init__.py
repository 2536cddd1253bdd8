"""The use-case layer: each flow (build the KG, import data, compute features, train, evaluate,
predict, recover, write back) joins the database layer (:mod:`grapekg.kg`) with the model and
data layers (:mod:`grapekg.model`, :mod:`grapekg.perturb`, :mod:`grapekg.evaluation`), which
never import each other. The CLI is a thin call into these modules."""
