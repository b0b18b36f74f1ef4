/* Internal: FNV-1a 64, the one hash behind sysmap's digests (the map digest
 * in run files and fixtures, program-cache entry names and payload checks).
 * Header-only, so the conformance harness shares it without a library
 * symbol. Multi-byte values enter as their little-endian bytes: a digest is
 * the same on every host. */
#ifndef SYSMAP_CORE_HASH_H
#define SYSMAP_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SM_FNV_OFFSET UINT64_C(14695981039346656037)
#define SM_FNV_PRIME UINT64_C(1099511628211)

static inline uint64_t sm_fnv_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * SM_FNV_PRIME;
    return h;
}

static inline uint64_t sm_fnv_u64(uint64_t h, uint64_t v)
{
    for (int b = 0; b < 8; b++)
        h = (h ^ ((v >> (8 * b)) & 0xffu)) * SM_FNV_PRIME;
    return h;
}

static inline uint64_t sm_fnv_f64(uint64_t h, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        h = sm_fnv_u64(h, bits);
    }
    return h;
}

#endif
