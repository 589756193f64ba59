#!/usr/bin/env bash
# The checks to run on a machine with an NVIDIA GPU and CuPy, in one go (a lent device's time is
# short): the op_db sweep with ember's inputs on the GPU, in parallel shards, beside the tests
# marked gpu, then the GPU benchmark alone. Logs and the sweep's JSON go to $OUT.
#     OUT=/tmp/gpu-check bash tests/cuda/gpu_check.sh [SWEEP_SECONDS] [SHARDS]
set -u
OUT=${OUT:-/tmp/gpu-check}
SECS=${1:-220}
SHARDS=${2:-6}
mkdir -p "$OUT"
WORK=$(mktemp -d)
export PYTHONUNBUFFERED=1 PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD
nvidia-smi -L
python3 -c "import cupy, numpy, torch; print('cupy', cupy.__version__, 'numpy', numpy.__version__, 'torch', torch.__version__)"
for k in $(seq 0 $((SHARDS - 1))); do
    timeout $((SECS + 60)) python3 -m tests.opdb.sweep --device cuda --deadline "$SECS" \
        --shard "$k/$SHARDS" --json "$WORK/sweep$k.json" >"$WORK/sweep$k.log" 2>&1 &
done
timeout $((SECS + 30)) python3 -m pytest -m gpu tests/cuda tests/tensor/test_casting.py -q \
    -p no:cacheprovider -rfE 2>&1 | tee "$OUT/pytest_gpu.log" | tail -40
wait
cat "$WORK"/sweep*.log >"$OUT/sweep_cuda.log"
grep -E "^(OpInfos|counterpart|forward|gradient|deadline)" "$OUT/sweep_cuda.log"
python3 -c "import json, sys; d = {}; [d.update(json.load(open(f))) for f in sys.argv[1:]]; \
json.dump(d, open('$OUT/sweep_cuda.json', 'w'), indent=1)" "$WORK"/sweep*.json
timeout 150 python3 -m benchmarks.bench_gpu --steps 30 --repeat 3 2>&1 | tee "$OUT/bench_gpu.log"
