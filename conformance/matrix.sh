#!/bin/sh
# One row of the conformance matrix: `sysmap conform` on one OpenCL
# implementation in one launch shape, the JSON report kept as
# OUT_DIR/ROW.json. Numerical conformance is required (exit 0, or 3 when
# only a timing budget was missed: timing is not judged here).
#
# usage: matrix.sh SYSMAP_EXE ROW OUT_DIR
# ROW:
#   pocl-native       PoCL in its own shape (SIMD along pixels), fp64 and fp32
#   pocl-nvidia-shape PoCL running the GPU code path: one pixel per work-item,
#                     work-groups of 256 (NVIDIA-like)
#   pocl-amd-shape    the same with work-groups of 64 (AMD wavefronts)
#   pocl-ftz-fp32     PoCL fp32 built with -cl-denorms-are-zero, a stand-in
#                     for devices that flush subnormals
#   oclgrind          Oclgrind's simulated device (GPU class, so the GPU shape)
#                     with race, uninitialised-value and API checks on the
#                     small cases; any Oclgrind report fails the row
#   intel-cpu         Intel's OpenCL CPU runtime (tools/vendors/intel-cpu.sh
#                     must have installed it), its default shape
#   device:SPEC       any other device (SPEC as for --device: N or P:D) in its
#                     default shape: how a new GPU is validated
# Exit 77 when the row's implementation is not installed (ctest: skipped).
set -eu
exe=$1
row=$2
out=$3
mkdir -p "$out"
device=0
precision=""
only=""
wrap=""
# Cases small enough for a simulator: every model and likelihood, the far
# skew tails, one pixel, sigma at its prior's edge; no chains.
small=exact_additive,exact_combined,exact_multiplicative,additive_gauss_n1
small=$small,multiplicative_skew_tails,combined_gauss_sigma_min,additive_skew_dynamic
unset SYSMAP_OPENCL_TUNING SYSMAP_OPENCL_OPTIONS
case $row in
pocl-native) ;;
pocl-nvidia-shape) export SYSMAP_OPENCL_TUNING=vw=1,wgs=256,wpt=4,ppi=4,gpc=16,wl=0 ;;
pocl-amd-shape) export SYSMAP_OPENCL_TUNING=vw=1,wgs=64,wpt=4,ppi=4,gpc=16,wl=0 ;;
pocl-ftz-fp32)
    export SYSMAP_OPENCL_OPTIONS=-cl-denorms-are-zero
    precision=fp32
    ;;
oclgrind)
    command -v oclgrind >/dev/null || { echo "oclgrind is not installed"; exit 77; }
    only=$small
    log="$out/oclgrind.log"
    rm -f "$log"
    wrap="oclgrind --data-races --uninitialized --check-api --log $log"
    ;;
intel-cpu)
    vendors=${SYSMAP_INTEL_VENDORS:-${XDG_CACHE_HOME:-$HOME/.cache}/sysmap/intel-opencl/vendors}
    [ -f "$vendors/intel-cpu.icd" ] || { echo "no Intel runtime at $vendors"; exit 77; }
    export OCL_ICD_VENDORS=$vendors
    device=$("$exe" devices | awk '/Intel\(R\) OpenCL/ {p = 1} p && $2 ~ /^[0-9]+:[0-9]+$/ {print $2; exit}')
    [ -n "$device" ] || { echo "the Intel runtime lists no device"; exit 77; }
    ;;
device:*) device=${row#device:} ;;
*)
    echo "matrix.sh: unknown row '$row'" >&2
    exit 2
    ;;
esac
name=$(echo "$row" | tr ':' '-')
set -- conform --device "$device" --report-dir "$out/$name"
[ -z "$precision" ] || set -- "$@" --precision "$precision"
[ -z "$only" ] || set -- "$@" --only "$only"
status=0
# shellcheck disable=SC2086 # wrap is a command prefix, split on purpose
$wrap "$exe" "$@" || status=$?
cp "$out/$name/conform.json" "$out/$name.json" 2>/dev/null || true
rm -rf "${out:?}/$name"
if [ "$row" = oclgrind ]; then
    if [ -s "$log" ]; then
        echo "Oclgrind reported problems ($log):"
        head -n 40 "$log"
        exit 1
    fi
    rm -f "$log"
fi
case $status in
0 | 3) exit 0 ;;
*) exit "$status" ;;
esac
