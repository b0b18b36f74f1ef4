/* Internal: the OpenCL kernel sources, embedded at build time from
 * the kernels folder (routine.cl, each prefixed with common.cl);
 * NUL-terminated. */
#ifndef SYSMAP_OPENCL_KERNELS_H
#define SYSMAP_OPENCL_KERNELS_H

extern const char sm_kernel_loglike[];

#endif
