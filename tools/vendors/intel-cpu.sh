#!/bin/sh
# Intel's OpenCL CPU runtime (a second vendor's compiler on the same cores)
# from PyPI, registered next to the system's ICDs without replacing the
# system ICD loader.
#
# usage: tools/vendors/intel-cpu.sh [COMMAND ...]
# Installs intel-opencl-rt into a virtual environment under
# ${XDG_CACHE_HOME:-~/.cache}/sysmap/intel-opencl (once), writes a vendor
# folder holding intel-cpu.icd (the runtime's library by absolute path)
# and the system's own .icd files, and prints the OCL_ICD_VENDORS setting.
# With a COMMAND, runs it with that setting, e.g.
#   tools/vendors/intel-cpu.sh build/tools/sysmap devices
#   conformance/matrix.sh build/tools/sysmap intel-cpu results/   (after one install)
#
# The wheel also ships its own libOpenCL.so (an ICD loader): it is never put
# on the library path, so programs keep the system loader (ocl-icd), which
# reads OCL_ICD_VENDORS. libintelocl.so finds its other libraries (TBB,
# SVML, its compiler) through its RUNPATH ($ORIGIN).
set -eu
VERSION=2026.2.0
root=${XDG_CACHE_HOME:-$HOME/.cache}/sysmap/intel-opencl
venv=$root/venv
vendors=$root/vendors
if [ ! -f "$venv/lib/libintelocl.so" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "intel-opencl-rt==$VERSION" "intel-cmplr-lib-rt==$VERSION"
fi
[ -f "$venv/lib/libintelocl.so" ] || { echo "intel-cpu.sh: no libintelocl.so in $venv/lib" >&2; exit 1; }
mkdir -p "$vendors"
rm -f "$vendors"/*.icd
for icd in /etc/OpenCL/vendors/*.icd; do
    [ -e "$icd" ] && cp "$icd" "$vendors/"
done
echo "$venv/lib/libintelocl.so" >"$vendors/intel-cpu.icd"
if [ $# -eq 0 ]; then
    echo "export OCL_ICD_VENDORS=$vendors"
    exit 0
fi
OCL_ICD_VENDORS=$vendors exec "$@"
