/* Fixture maps from a recipe and a seed. Draws are numpy's random_sample
 * from sysmap's own MT19937 (integer arithmetic and one exact scaling),
 * turned into bell-shaped noise by an Irwin-Hall sum of four uniforms, so
 * that every step is IEEE-754 basic arithmetic (and sqrt, which IEEE-754
 * rounds correctly): the same map on every platform, with no libm function
 * whose last bits vary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sysmap/rng.h"
#include "error.h"

#define RHO 0.5                       /* correlation of consecutive templates */
#define SQRT_1_MINUS_RHO2 0.8660254037844386
#define SQRT3 1.7320508075688772
#define COLLINEAR_SPREAD 1e-4         /* t_i = t_1 + 1e-4 e_i: correlation 1 - 5e-9 */
#define OUTLIER_EVERY 97              /* dynamic: every 97th overdensity x 1000 */
#define OUTLIER_SCALE 1000.0
#define SQRT_2_OVER_PI 0.79788456080286536

/* Template scales of the dynamic recipe, by template index (cycled). */
static const double dynamic_scales[] = {1e-4, 1e4, 1.0, 1e-2, 1e2};

double conform_bell(sm_rng_t *rng)
{
    double s = sm_rng_uniform(rng) + sm_rng_uniform(rng);
    s += sm_rng_uniform(rng) + sm_rng_uniform(rng);
    return (s - 2.0) * SQRT3;
}

/* k in [0, n) from one uniform; n a power of two, so the scaling is exact. */
static long uniform_int(sm_rng_t *rng, long n)
{
    return (long)(sm_rng_uniform(rng) * (double)n);
}

static void correlated_templates(sm_rng_t *rng, size_t n, size_t s, int collinear, double *t)
{
    for (size_t i = 0; i < s; i++)
        for (size_t j = 0; j < n; j++) {
            double e = conform_bell(rng);
            if (i == 0)
                t[j] = e;
            else if (collinear)
                t[i * n + j] = t[j] + COLLINEAR_SPREAD * e;
            else
                t[i * n + j] = RHO * t[(i - 1) * n + j] + SQRT_1_MINUS_RHO2 * e;
        }
}

/* The true overdensity: bell-shaped with width noise, or for a noise shape
 * gamma its skew-normal version (Azzalini's construction, shifted to zero
 * mean): delta = noise (dg |z0| + sqrt(1 - dg^2) z1 - dg sqrt(2/pi)),
 * dg = gamma / sqrt(1 + gamma^2). sqrt is correctly rounded everywhere. */
static double overdensity(const conform_recipe_t *r, sm_rng_t *rng)
{
    if (r->noise_gamma == 0.0)
        return r->noise * conform_bell(rng);
    double dg = r->noise_gamma / sqrt(1.0 + r->noise_gamma * r->noise_gamma);
    double z0 = conform_bell(rng), z1 = conform_bell(rng);
    return r->noise * (dg * fabs(z0) + sqrt(1.0 - dg * dg) * z1 - dg * SQRT_2_OVER_PI);
}

/* delta_obs = delta (1 + b.t) + a.t. */
static void contaminate(const conform_recipe_t *r, sm_rng_t *rng, int outliers,
                        const double *t, double *d)
{
    size_t n = r->n_pix, s = r->n_sys;
    for (size_t j = 0; j < n; j++) {
        double delta = overdensity(r, rng);
        if (outliers && j % OUTLIER_EVERY == 0)
            delta *= OUTLIER_SCALE;
        double add = 0.0, mult = 0.0;
        for (size_t i = 0; i < s; i++) {
            add += r->inj_a[i] * t[i * n + j];
            mult += r->inj_b[i] * t[i * n + j];
        }
        d[j] = delta * (1.0 + mult) + add;
    }
}

/* Dyadic values only: t = k / 64 with |k| <= 128, d = k / 1024 with
 * |k| <= 512, so that sums of the exact parameter sets are exact. */
static void exact_map(sm_rng_t *rng, size_t n, size_t s, double *t, double *d)
{
    for (size_t i = 0; i < n * s; i++)
        t[i] = (double)(uniform_int(rng, 256) - 128) / 64.0;
    for (size_t j = 0; j < n; j++)
        d[j] = (double)(uniform_int(rng, 1024) - 512) / 1024.0;
}

sm_status conform_map_make(const conform_recipe_t *r, sm_data_t **out)
{
    *out = NULL;
    size_t n = r->n_pix, s = r->n_sys;
    if (n == 0 || s == 0 || s > CONFORM_MAX_SYS)
        return sm_fail(SM_EFORMAT, "recipe: %zu pixels x %zu templates (1..%d templates)", n, s,
                       CONFORM_MAX_SYS);
    int standard = strcmp(r->recipe, "standard") == 0;
    int collinear = strcmp(r->recipe, "collinear") == 0;
    int dynamic = strcmp(r->recipe, "dynamic") == 0;
    int exact = strcmp(r->recipe, "exact") == 0;
    if (!standard && !collinear && !dynamic && !exact)
        return sm_fail(SM_EFORMAT, "unknown map recipe '%s' (standard, collinear, dynamic, exact)",
                       r->recipe);
    double *t = malloc(n * s * sizeof *t), *d = malloc(n * sizeof *d);
    sm_rng_t *rng = NULL;
    sm_status st = (t && d) ? sm_rng_create(&rng, r->seed) : SM_FAIL_NOMEM("the fixture map");
    if (st == SM_OK && exact) {
        exact_map(rng, n, s, t, d);
    } else if (st == SM_OK) {
        correlated_templates(rng, n, s, collinear, t);
        if (dynamic)
            for (size_t i = 0; i < s; i++)
                for (size_t j = 0; j < n; j++)
                    t[i * n + j] *= dynamic_scales[i % (sizeof dynamic_scales /
                                                        sizeof *dynamic_scales)];
        contaminate(r, rng, dynamic, t, d);
    }
    if (st == SM_OK)
        st = sm_data_create(out, n, s, d, t, NULL);
    sm_rng_free(rng);
    free(t);
    free(d);
    return st;
}
