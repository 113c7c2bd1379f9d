#!/usr/bin/env bash
# The training experiments of the README on one CUDA machine: recipes side by side on one GPU
# (released method vs a mask-area prior, natural vs independent SynthBirds, the cpu preset, the
# background info loss), each with quick evaluations on a validation folder; packs the results
# and the two best models (by validation score) into OUT_DIR. Needs python3 with PyTorch, NumPy, Pillow and safetensors; no network.
#
#   bash recipes/gpu_experiments.sh OUT_DIR
#
# Tunables (environment): BUDGET (seconds per run, default 470), COUNT (training images per
# data set, 20000), VAL (validation images, 500), BATCH (64), WORKERS (loader processes per run,
# 3), DEVICE (cuda), EVAL_EVERY (steps, 500), RUNS (which runs, default the first four; also
# cpu-natural and binfo-natural). One run alone gets the whole GPU: RUNS=faithful-natural.
set -uo pipefail
OUT=${1:?usage: gpu_experiments.sh OUT_DIR}
BUDGET=${BUDGET:-470}; COUNT=${COUNT:-20000}; VAL=${VAL:-500}; BATCH=${BATCH:-64}
WORKERS=${WORKERS:-3}; DEVICE=${DEVICE:-cuda}; EVAL_EVERY=${EVAL_EVERY:-500}
RUNS=${RUNS:-"faithful-natural faithful-independent prior-natural prior-independent"}
WORK=${WORK:-/tmp/mnm-experiments}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p "$OUT" "$WORK"
start=$(date +%s)
say() { echo "[$(( $(date +%s) - start ))s] $*"; }

say "machine: $(nproc) CPUs; $($PY -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA")')"
cpus=$(nproc); half=$(( cpus / 2 > 1 ? cpus / 2 : 1 ))
$PY -m engine.synth --out "$WORK/natural" --count "$COUNT" --seed 0 --workers "$half" &
$PY -m engine.synth --out "$WORK/independent" --count "$COUNT" --seed 1 --independent --workers "$half" &
$PY -m engine.synth --out "$WORK/val" --count "$VAL" --seed 404 --independent --workers 2 &
wait
say "data ready"

for run in $RUNS; do
  case $run in
    faithful-natural) args=(--data "$WORK/natural") ;;
    faithful-independent) args=(--data "$WORK/independent") ;;
    prior-natural) args=(--data "$WORK/natural" --mask-prior-weight 10) ;;
    prior-independent) args=(--data "$WORK/independent" --mask-prior-weight 10) ;;
    cpu-natural) args=(--data "$WORK/natural" --preset cpu) ;;
    binfo-natural) args=(--data "$WORK/natural" --background-info-weight 1) ;;
    *) echo "unknown run $run"; exit 2 ;;
  esac
  $PY -m engine.cli.train --preset demo "${args[@]}" --out "$WORK/$run" --device "$DEVICE" \
    --batch-size "$BATCH" --steps 1000000 --stage2-steps 100000 --time-budget "$BUDGET" \
    --workers "$WORKERS" --eval-every "$EVAL_EVERY" --eval-data "$WORK/val" --eval-pairs 128 \
    --log-every 50 --checkpoint-every 5000 --sample-every 2000 --export-dtype float16 \
    --export-parts-mb 15 -q > "$WORK/$run.log" 2>&1 &
done
wait
say "training done"

# Results: logs, configs, metrics, curves, last sample grids; the two best models' parts.
$PY - "$WORK" "$OUT" $RUNS <<'PY'
import json, shutil, sys, tarfile
from pathlib import Path
work, out, runs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
scores = {}
for run in runs:
    rows = [json.loads(x) for x in (work / run / "metrics.jsonl").read_text().splitlines()
            if '"event": "eval"' in x] if (work / run / "metrics.jsonl").is_file() else []
    if rows and (work / run / "model.safetensors").is_file():
        scores[run] = rows[-1]["score"]
    print(run, "final validation score", scores.get(run), "evals", len(rows))
with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
    for run in runs:
        d = work / run
        for name in ("metrics.jsonl", "config.json", "learning_curves.png"):
            if (d / name).is_file():
                tar.add(d / name, f"{run}/{name}")
        if (work / f"{run}.log").is_file():
            tar.add(work / f"{run}.log", f"{run}/train.log")
        grids = sorted((d / "samples").glob("*.png")) if (d / "samples").is_dir() else []
        for g in grids[-3:]:
            tar.add(g, f"{run}/samples/{g.name}")
for rank, run in enumerate(sorted(scores, key=scores.get, reverse=True)[:2]):
    (out / run).mkdir(exist_ok=True)
    for f in sorted((work / run).glob("model.safetensors.*")):
        shutil.copy(f, out / run / f.name)
print(json.dumps(scores))
PY
ls -la "$OUT"
say "all done"
