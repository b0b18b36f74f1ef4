/* numpy's legacy RandomState draws (numpy/random/src/legacy, distributions)
 * on GSL's MT19937, whose 32-bit stream equals numpy's for equal state. */
#include "sysmap/rng.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include "error.h"

/* GSL's private mt19937 state (rng/mt.c); its size is checked at creation so
 * a GSL with another layout fails loudly instead of drawing garbage. */
typedef struct {
    unsigned long mt[SM_RNG_KEY_LEN];
    int mti;
} gsl_mt_state_t;

struct sm_rng {
    gsl_rng *mt;
    int has_gauss;
    double gauss;
};

static gsl_mt_state_t *mt_state(const sm_rng_t *rng)
{
    return gsl_rng_state(rng->mt);
}

sm_status sm_rng_create(sm_rng_t **out, uint32_t seed)
{
    *out = NULL;
    sm_rng_t *rng = calloc(1, sizeof *rng);
    if (rng == NULL)
        return SM_FAIL_NOMEM("random number generator");
    rng->mt = gsl_rng_alloc(gsl_rng_mt19937);
    if (rng->mt == NULL) {
        free(rng);
        return SM_FAIL_NOMEM("GSL mt19937");
    }
    size_t size = gsl_rng_size(rng->mt);
    if (size != sizeof(gsl_mt_state_t)) {
        sm_rng_free(rng);
        return sm_fail(SM_ENUMERIC, "GSL's mt19937 state has an unexpected size (%zu bytes)",
                       size);
    }
    /* init_genrand, written out because GSL maps seed 0 to 4357 and numpy
     * does not. */
    gsl_mt_state_t *st = mt_state(rng);
    uint32_t x = seed;
    for (int i = 0; i < SM_RNG_KEY_LEN; i++) {
        st->mt[i] = x;
        x = 1812433253u * (x ^ (x >> 30)) + (uint32_t)(i + 1);
    }
    st->mti = SM_RNG_KEY_LEN;
    *out = rng;
    return SM_OK;
}

void sm_rng_free(sm_rng_t *rng)
{
    if (rng == NULL)
        return;
    gsl_rng_free(rng->mt);
    free(rng);
}

void sm_rng_get_state(const sm_rng_t *rng, sm_rng_state_t *state)
{
    const gsl_mt_state_t *st = mt_state(rng);
    for (int i = 0; i < SM_RNG_KEY_LEN; i++)
        state->key[i] = (uint32_t)st->mt[i];
    state->pos = st->mti;
    state->has_gauss = rng->has_gauss;
    state->gauss = rng->gauss;
}

sm_status sm_rng_set_state(sm_rng_t *rng, const sm_rng_state_t *state)
{
    if (state->pos < 0 || state->pos > SM_RNG_KEY_LEN)
        return sm_fail(SM_EINVAL, "random state: position %d outside [0, %d]", state->pos,
                       SM_RNG_KEY_LEN);
    gsl_mt_state_t *st = mt_state(rng);
    for (int i = 0; i < SM_RNG_KEY_LEN; i++)
        st->mt[i] = state->key[i];
    st->mti = state->pos;
    rng->has_gauss = state->has_gauss != 0;
    rng->gauss = state->has_gauss ? state->gauss : 0.0;
    return SM_OK;
}

uint32_t sm_rng_next32(sm_rng_t *rng)
{
    return (uint32_t)gsl_rng_get(rng->mt);
}

double sm_rng_uniform(sm_rng_t *rng)
{
    uint32_t a = sm_rng_next32(rng) >> 5, b = sm_rng_next32(rng) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

/* Smallest 2^k - 1 >= max. */
static uint64_t bit_mask(uint64_t max)
{
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    return mask;
}

/* numpy's random_interval: uniform in [0, max] by masked rejection, one
 * 32-bit draw per try while max fits in 32 bits, else a 64-bit draw made of
 * two 32-bit outputs, the first as the high word. */
static uint64_t bounded(sm_rng_t *rng, uint64_t max)
{
    if (max == 0)
        return 0;
    uint64_t mask = bit_mask(max), value;
    if (max <= 0xffffffffu) {
        while ((value = (sm_rng_next32(rng) & mask)) > max)
            ;
    } else {
        do {
            uint64_t hi = sm_rng_next32(rng);
            value = ((hi << 32) | sm_rng_next32(rng)) & mask;
        } while (value > max);
    }
    return value;
}

uint64_t sm_rng_randint(sm_rng_t *rng, uint64_t n)
{
    return bounded(rng, n - 1);
}

void sm_rng_shuffle(sm_rng_t *rng, size_t *x, size_t n)
{
    for (size_t i = n > 0 ? n - 1 : 0; i >= 1; i--) {
        size_t j = (size_t)bounded(rng, i);
        size_t tmp = x[i];
        x[i] = x[j];
        x[j] = tmp;
    }
}

double sm_rng_gauss(sm_rng_t *rng)
{
    if (rng->has_gauss) {
        /* numpy zeroes the cached value once it is used, and its
         * get_state() reports that 0.0. */
        double cached = rng->gauss;
        rng->has_gauss = 0;
        rng->gauss = 0.0;
        return cached;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * sm_rng_uniform(rng) - 1.0;
        x2 = 2.0 * sm_rng_uniform(rng) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    rng->gauss = f * x1;
    rng->has_gauss = 1;
    return f * x2;
}
