/* numpy's legacy RandomState on GSL's MT19937: the same stream of uniforms,
 * bounded integers, shuffles and normals for the same seed and state. */
#ifndef SYSMAP_RNG_H
#define SYSMAP_RNG_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SM_RNG_KEY_LEN 624

/* numpy's RandomState.get_state(): ('MT19937', key, pos, has_gauss, cached_gaussian). */
typedef struct {
    uint32_t key[SM_RNG_KEY_LEN];
    int pos;             /* 0..624; 624 = regenerate before the next draw */
    int has_gauss;
    double gauss;
} sm_rng_state_t;

typedef struct sm_rng sm_rng_t;

/* Seeded as numpy's RandomState(seed) (init_genrand; seed 0 included). */
SM_API sm_status sm_rng_create(sm_rng_t **out, uint32_t seed);
SM_API void sm_rng_free(sm_rng_t *rng);

SM_API void sm_rng_get_state(const sm_rng_t *rng, sm_rng_state_t *state);
SM_API sm_status sm_rng_set_state(sm_rng_t *rng, const sm_rng_state_t *state);

SM_API uint32_t sm_rng_next32(sm_rng_t *rng);
/* random_sample(): 53-bit double in [0, 1) from two 32-bit outputs. */
SM_API double sm_rng_uniform(sm_rng_t *rng);
/* randint(n): uniform in [0, n-1] by masked rejection; n >= 1. */
SM_API uint64_t sm_rng_randint(sm_rng_t *rng, uint64_t n);
/* shuffle(x) of a 1-d array: Fisher-Yates from the end, masked rejection. */
SM_API void sm_rng_shuffle(sm_rng_t *rng, size_t *x, size_t n);
/* standard_normal(): polar Box-Muller, caching the second value. */
SM_API double sm_rng_gauss(sm_rng_t *rng);

#ifdef __cplusplus
}
#endif
#endif
