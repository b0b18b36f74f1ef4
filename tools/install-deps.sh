#!/bin/sh
# Installs the Debian 12 packages sysmap builds and tests with (run as root or
# with sudo available); `--list` only prints them. The Python packages are
# for the binding, the plots and the tests that compare with emcee.
set -eu
PACKAGES="build-essential cmake pkg-config clang libclang-rt-14-dev
  libgsl-dev libhdf5-dev check libcfitsio-dev libchealpix-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd oclgrind
  libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-h5py python3-emcee
  python3-matplotlib python3-healpy"
if [ "${1:-}" = "--list" ]; then
  # shellcheck disable=SC2086 # one line, one package name per word
  echo $PACKAGES
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # the list splits into package names on purpose
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
