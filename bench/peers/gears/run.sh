#!/usr/bin/env bash
# GEARS side by side with GRAPE and the baselines, from a fresh machine, one command:
#
#   bench/peers/gears/run.sh [bench.py options, e.g. --datasets sim600 --seeds 1..2 --force]
#
# 1. grape-kg itself (make install: .venv, Java, Neo4j, offline data), the local Neo4j, the KG;
# 2. the isolated GEARS environment (setup.sh: Debian torch + a --system-site-packages venv);
# 3. bench.py: datasets, GEARS inputs from the KG, GEARS / GRAPE / baselines, tables in
#    bench/results/peers_*.{txt,json}, the faithfulness check.
# Long steps run under `nice -n ${PEERS_NICE:-15}`. Leaves the Neo4j server running
# (.venv/bin/grape db stop stops it).
set -euo pipefail
cd "$(dirname "$0")/../../.."
export GRAPE_DATA_DIR="${GRAPE_DATA_DIR:-$PWD/.grape}"
export COLUMNS="${COLUMNS:-200}"
# A Neo4j started here gets a 3 GiB heap: grape train's automatic Reactome prior (~1M edges)
# exceeds the transaction memory limit of the default 1g heap.
export GRAPE_NEO4J_HEAP="${GRAPE_NEO4J_HEAP:-3g}"

make -s install   # idempotent: installs only what is missing
.venv/bin/grape db start
kg_status="$(.venv/bin/grape kg status 2>/dev/null || true)"
if ! grep -Eq '\(:Gene\) +│ +[1-9]' <<<"$kg_status"; then
  .venv/bin/grape kg build
fi
GEARS_PY="$(bench/peers/gears/setup.sh | tail -n 1)"
exec .venv/bin/python bench/peers/gears/bench.py --gears-python "$GEARS_PY" "$@"
