#!/usr/bin/env bash
# The GPU check, for the day a GPU machine is lent: one command from the repository root,
#   bash bench/gpu_check.sh
# under 8 minutes on one H100 (the steps' timeouts add up to 480 s). No network, no Neo4j: every step builds SYNTHETIC simulations.
# Steps (each under its own timeout; one failing does not stop the others):
#   1. env       python, torch, CUDA devices
#   2. gpu-tests pytest -m gpu (tests/test_gpu.py, tests/test_grape_train.py)
#   3. agree     a trained GRAPE model's predictions, float32 vs bf16 autocast
#   4. epoch     seconds per GRAPE epoch on a 5k-gene simulation, GPU and CPU (the CPU epoch
#                is timed on its first steps and scaled, the output says which fraction)
#   5. ddp       GRAPE data-parallel over all visible GPUs (torchrun; NCCL); with one GPU, two
#                ranks share it over gloo (NCCL refuses two ranks on one device)
# and a summary block at the end. Environment:
#   PYTHON=...              interpreter (default: .venv/bin/python if it imports torch, else python3)
#   GPU_CHECK_ALLOW_CPU=1   run without CUDA: GPU-only parts are skipped, small sizes (a dry run)
#   GPU_CHECK_GENES=5000    genes of the epoch simulation; GPU_CHECK_OUT=dir for the logs
# Missing Python packages (e.g. anndata on a bare image) can travel as wheels in .whl/: they
# are installed into a temporary folder first (see the device tool's notes).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
OUT=${GPU_CHECK_OUT:-$(mktemp -d /tmp/gpu_check.XXXXXX)}
mkdir -p "$OUT"
T0=$(date +%s)
declare -a SUMMARY=()

note() { printf '\n=== %s ===\n' "$*"; }
record() { SUMMARY+=("$(printf '%-10s %-8s %s' "$1" "$2" "$3")"); }

# ---------------------------------------------------------------- interpreter and package
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ] && .venv/bin/python -c 'import torch' >/dev/null 2>&1; then
    PYTHON=.venv/bin/python
  else
    PYTHON=python3
  fi
fi
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$OUT/site" .whl/*.whl && export PYTHONPATH="$OUT/site${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$PYTHON" -c 'import grapekg.model' >/dev/null 2>&1; then
  # not installed here: the package layout of pyproject.toml as links (kg/, model/, cli/,
  # cypher/ at the top level install as grapekg.kg, grapekg.model, ...)
  SHIM="$OUT/shim/grapekg"
  mkdir -p "$SHIM"
  for f in grapekg/*; do ln -sfn "$ROOT/$f" "$SHIM/$(basename "$f")"; done
  for d in kg model cli cypher; do ln -sfn "$ROOT/$d" "$SHIM/$d"; done
  export PYTHONPATH="$OUT/shim${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

# ---------------------------------------------------------------- 1. env
note "1. env"
ENV_OUT=$(timeout 45 "$PYTHON" - <<'EOF' 2>&1
import importlib, platform, torch
print(f"python {platform.python_version()}, torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}, devices {torch.cuda.device_count()}")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"  cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, bf16 {torch.cuda.is_bf16_supported()}")
missing = []
for m in ("numpy", "scipy", "pandas", "anndata", "torch_geometric", "yaml", "pytest",
          "grapekg.model.grape.train", "grapekg.perturb.simulate"):
    try:
        importlib.import_module(m)
    except Exception as exc:  # noqa: BLE001
        missing.append(f"{m} ({type(exc).__name__}: {exc})")
print("missing: " + ("; ".join(missing) if missing else "none"))
EOF
)
echo "$ENV_OUT"
NGPU=$(timeout 30 "$PYTHON" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
NGPU=${NGPU:-0}
if echo "$ENV_OUT" | grep -q '^missing: none'; then record env ok "$(echo "$ENV_OUT" | head -1)"
else record env FAIL "$(echo "$ENV_OUT" | grep '^missing' | cut -c1-200)"; fi
CPU_MODE=0
if [ "$NGPU" = 0 ]; then
  if [ "${GPU_CHECK_ALLOW_CPU:-0}" = 1 ]; then
    CPU_MODE=1
    echo "no CUDA device: CPU dry run (GPU-only parts skipped, small sizes)"
  else
    echo "no CUDA device is visible (set GPU_CHECK_ALLOW_CPU=1 for a CPU dry run)"
    exit 1
  fi
fi
DEV=cuda; [ "$CPU_MODE" = 1 ] && DEV=cpu
GENES=${GPU_CHECK_GENES:-5000}; [ "$CPU_MODE" = 1 ] && GENES=${GPU_CHECK_GENES:-1000}
SMALL=1000; AGREE=(--conditions 100 --epochs 3)
[ "$CPU_MODE" = 1 ] && SMALL=200 && AGREE=(--conditions 30 --epochs 1)

# a step: NAME TIMEOUT_S COMMAND...; its output in $OUT/NAME.log, its RESULT lines kept
step() {
  local name=$1 limit=$2; shift 2
  local t=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$? s=$(( $(date +%s) - t ))
  grep -v -e FutureWarning -e 'warnings.warn' "$OUT/$name.log" | tail -n 15
  if [ $rc = 124 ] || [ $rc = 137 ]; then echo "[$name] TIMEOUT after ${limit} s"; fi
  LAST_RC=$rc LAST_S=$s
}
result() { grep -h '^RESULT ' "$OUT/$1.log" | tail -1 | cut -c8-; }
why() {  # the last error line of a step's log
  local e; e=$(grep -h -E 'Error|error:|TIMEOUT|Killed' "$OUT/$1.log" | grep -v -e Warning -e warn | tail -1 | cut -c1-160)
  echo "rc $LAST_RC${e:+: $e} (log $OUT/$1.log)"
}
field() {
  "$PYTHON" -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2], "?")
print(f"{v:.4g}" if isinstance(v, float) else v)' "$1" "$2" 2>/dev/null
}

# ---------------------------------------------------------------- 2. gpu tests
note "2. gpu-marked tests (pytest -m gpu)"
step gpu-tests 105 "$PYTHON" -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py tests/test_grape_train.py
LINE=$(grep -E '[0-9]+ (passed|failed|skipped|error)' "$OUT/gpu-tests.log" | tail -1)
if [ "$CPU_MODE" = 1 ]; then record gpu-tests skipped "no CUDA: $LINE"
elif [ "$LAST_RC" = 0 ]; then record gpu-tests ok "$LINE (${LAST_S} s)"
else record gpu-tests FAIL "rc $LAST_RC: $LINE"; fi

# ---------------------------------------------------------------- 3. fp32 vs bf16
note "3. fp32 vs bf16 predictions of a trained GRAPE model ($SMALL genes, $DEV)"
step agree 60 "$PYTHON" bench/gpu_check.py agree --device "$DEV" --genes "$SMALL" "${AGREE[@]}"
R=$(result agree)
if [ -n "$R" ]; then
  record agree ok "$DEV: max|fp32-bf16| $(field "$R" max_abs_diff), rel. diff of deltas $(field "$R" rel_diff_of_deltas), Pearson $(field "$R" pearson_deltas), MSE fp32 $(field "$R" mse_fp32) bf16 $(field "$R" mse_bf16)"
else record agree FAIL "$(why agree)"; fi

# ---------------------------------------------------------------- 4. time per epoch
note "4. seconds per GRAPE epoch, $GENES-gene simulation"
GPU_EPOCH="-"
if [ "$CPU_MODE" = 0 ]; then
  step epoch-gpu 90 "$PYTHON" bench/gpu_check.py epoch --device cuda --genes "$GENES" --conditions 150 --epochs 2
  R=$(result epoch-gpu)
  if [ -n "$R" ]; then GPU_EPOCH=$(field "$R" s_per_epoch)
    record epoch-gpu ok "$GPU_EPOCH s/epoch, peak $(field "$R" peak_gpu_mib) MiB, $(field "$R" train_conditions) train conditions"
  else record epoch-gpu FAIL "$(why epoch-gpu)"; fi
else record epoch-gpu skipped "no CUDA"; fi
step epoch-cpu 90 "$PYTHON" bench/gpu_check.py epoch --device cpu --genes "$GENES" --conditions 150 --epochs 1 --warmup 0 --max-steps 2
R=$(result epoch-cpu)
if [ -n "$R" ]; then
  CPU_EPOCH=$(field "$R" s_per_epoch)
  SPEED=$("$PYTHON" -c 'import sys; g=sys.argv[2]; print(f"x{float(sys.argv[1])/float(g):.1f}" if g not in ("-", "?") else "-")' "$CPU_EPOCH" "$GPU_EPOCH" 2>/dev/null)
  record epoch-cpu ok "$CPU_EPOCH s/epoch on $(field "$R" threads) threads (timed $(field "$R" timed_fraction_of_epoch) of an epoch, scaled); GPU speed-up ${SPEED:--}"
else record epoch-cpu FAIL "$(why epoch-cpu)"; fi

# ---------------------------------------------------------------- 5. DDP
DDP_SIZE=(--conditions 100 --epochs 2)
if [ "$CPU_MODE" = 1 ]; then NPROC=2; DDP_ENV=(); WHAT="2 CPU ranks (gloo)"; DDP_SIZE=(--conditions 40 --epochs 1)
elif [ "$NGPU" -ge 2 ]; then NPROC=$NGPU; DDP_ENV=(); WHAT="$NGPU GPUs (NCCL)"
else NPROC=2; DDP_ENV=(GRAPE_DIST_BACKEND=gloo); WHAT="2 ranks on 1 GPU (gloo: NCCL needs a GPU per rank)"; fi
note "5. DDP: $WHAT"
step ddp 90 env "${DDP_ENV[@]}" GRAPE_DIST_TIMEOUT=120 OMP_NUM_THREADS=2 "$PYTHON" -m torch.distributed.run \
  --standalone --nproc-per-node "$NPROC" bench/gpu_check.py ddp --device "$DEV" --genes "$SMALL" "${DDP_SIZE[@]}"
R=$(result ddp)
if [ -n "$R" ] && [ "$(field "$R" weights_identical_on_all_ranks)" = True ]; then
  record ddp ok "$WHAT: $(field "$R" s_per_epoch) s/epoch, global batch $(field "$R" global_batch), weights identical on all ranks"
elif [ -n "$R" ]; then record ddp FAIL "$WHAT: weights differ between ranks"
else record ddp FAIL "$(why ddp)"; fi

# ---------------------------------------------------------------- summary
printf '\n================ GPU CHECK SUMMARY (%s s, logs in %s) ================\n' "$(( $(date +%s) - T0 ))" "$OUT"
[ "$CPU_MODE" = 1 ] && echo "CPU DRY RUN: no CUDA device; sizes reduced, GPU-only steps skipped"
for line in "${SUMMARY[@]}"; do echo "$line"; done
echo "SYNTHETIC data throughout."
if printf '%s\n' "${SUMMARY[@]}" | grep -q ' FAIL '; then exit 1; fi
exit 0
