#!/bin/sh
# Installs the Debian 12 packages sysmap builds and tests with (run as root or
# with sudo available). Python packages are for the tests that compare with
# emcee and read our files with h5py.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config \
  libgsl-dev libhdf5-dev check libcfitsio-dev libchealpix-dev \
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd \
  libopenmpi-dev openmpi-bin \
  python3 python3-numpy python3-h5py python3-emcee \
  python3-matplotlib python3-healpy >/dev/null
