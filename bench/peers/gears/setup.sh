#!/usr/bin/env bash
# Build the isolated GEARS environment (idempotent, no questions asked).
#
#   bench/peers/gears/setup.sh            -> prints the venv's python on the last line
#
# GEARS (PyPI `cell-gears`, MIT) runs only in this environment, as its own process; grape-kg
# never imports it. Torch comes from Debian (`python3-torch` 1.13.1, with the pthread OpenBLAS:
# without it training crawls), the rest from PyPI into a --system-site-packages venv made from
# Debian's own /usr/bin/python3 (the interpreter python3-torch is built for).
#
# Environment: GEARS_VENV (default $GRAPE_CACHE_DIR/peers/gears-venv, GRAPE_CACHE_DIR defaults
# to ~/.cache/grape-kg). Needs root for apt (or the two packages already installed).
set -euo pipefail

CACHE="${GRAPE_CACHE_DIR:-$HOME/.cache/grape-kg}"
VENV="${GEARS_VENV:-$CACHE/peers/gears-venv}"
SYS_PY=/usr/bin/python3
# Pinned versions (the newest that work with Debian bookworm's torch 1.13):
#   cell-gears 0.1.2 is the newest release; scipy < 1.14 (1.17 crashes in GEARS.__init__,
#   GEARS issue #90); numpy < 2 (Debian's torch 1.13 is built against numpy 1.x);
#   torch-geometric 2.3.1 is pure Python and supports torch 1.13.
PIP_PKGS=(
  "cell-gears==0.1.2"
  "torch-geometric==2.3.1"
  "scipy==1.13.1"
  "numpy==1.26.4"
  "pandas==2.2.3"
  "anndata==0.10.9"
  "scanpy==1.10.4"
  "scikit-learn==1.5.2"
  "dcor==0.6"
)
STAMP="$VENV/.grape-peers-installed"
WANT="$(printf '%s\n' "${PIP_PKGS[@]}" | sha256sum | cut -c1-16)"

need_apt=()
dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed" || need_apt+=(python3-torch)
dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed" || need_apt+=(libopenblas0-pthread)
dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed" || need_apt+=(python3-venv)
if ((${#need_apt[@]})); then
  echo "[gears-setup] apt-get install ${need_apt[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "[gears-setup] need root to apt-get install ${need_apt[*]}" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "[gears-setup] $VENV is up to date" >&2
else
  echo "[gears-setup] creating $VENV" >&2
  mkdir -p "$(dirname "$VENV")"
  [[ -x "$VENV/bin/python" ]] || "$SYS_PY" -m venv --system-site-packages "$VENV"
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  "$VENV/bin/python" -m pip install -q "${PIP_PKGS[@]}" >&2
  echo "$WANT" > "$STAMP"
fi

# Sanity: torch must be Debian's, and GEARS must import.
"$VENV/bin/python" - >&2 <<'EOF'
import importlib.metadata as md, torch, torch_geometric, scipy, numpy
print("[gears-setup] torch", torch.__version__, "from", torch.__file__.split("/torch/")[0],
      "| cell-gears", md.version("cell-gears"), "| torch-geometric", torch_geometric.__version__,
      "| scipy", scipy.__version__, "| numpy", numpy.__version__)
import gears  # noqa: F401
EOF
echo "$VENV/bin/python"
