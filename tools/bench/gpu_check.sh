#!/bin/sh
# The GPU check in one short run (a few minutes on one GPU): which devices
# sysmap sees, the throughput of each likelihood and precision at 50k and
# 3.1M pixels, a tuning sweep when `sysmap tune` exists, and the conformance
# harness on the GPU. Every output goes to OUT_DIR (logs and JSON), ready
# for tools/bench/RESULTS.md and conformance/register.py.
#
# usage: tools/bench/gpu_check.sh SYSMAP_EXE OUT_DIR [DEVICE]
#   DEVICE: as for --device (default: the first GPU `sysmap devices` lists)
set -eu
exe=$1
out=$2
mkdir -p "$out"
"$exe" devices | tee "$out/devices.txt"
device=${3:-$(awk '$3 == "GPU" && $2 ~ /^[0-9]+:[0-9]+$/ {print $2; exit}' "$out/devices.txt")}
[ -n "$device" ] || { echo "gpu_check: no GPU among the devices above" >&2; exit 77; }
echo "gpu_check: device $device" | tee "$out/device.txt"
if "$exe" tune --help >/dev/null 2>&1; then
    for p in fp64 fp32; do
        "$exe" tune --device "$device" --precision "$p" 2>&1 | tee "$out/tune_$p.txt"
    done
fi
"$exe" bench --device "$device" --pixels 50000,3145728 --likelihood both \
    --backends opencl-fp64,opencl-fp32 --repeats 3 --seconds 0.3 --json >"$out/bench.json"
"$exe" bench --device "$device" --pixels 50000 --backends opencl-fp64 --repeats 3 \
    --run-steps 300 | tee "$out/bench_run.txt"
status=0
"$exe" conform --device "$device" --report-dir "$out" 2>&1 | tee "$out/conform.txt" || status=$?
echo "gpu_check: conform exit $status (0 conformant, 3 timing budget missed only)"
[ "$status" -eq 0 ] || [ "$status" -eq 3 ]
