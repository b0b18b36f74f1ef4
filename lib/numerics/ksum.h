/* Internal: Neumaier-compensated summation (Kahan-Babuska), exact to a few
 * ulp of the sum independent of N for the sums a likelihood makes. */
#ifndef SYSMAP_CORE_KSUM_H
#define SYSMAP_CORE_KSUM_H

#include <math.h>

typedef struct {
    double sum;
    double comp;  /* low-order bits lost from sum so far */
} sm_ksum_t;

static inline void sm_ksum_add(sm_ksum_t *k, double x)
{
    double t = k->sum + x;
    if (fabs(k->sum) >= fabs(x))
        k->comp += (k->sum - t) + x;
    else
        k->comp += (x - t) + k->sum;
    k->sum = t;
}

static inline double sm_ksum_value(const sm_ksum_t *k)
{
    return k->sum + k->comp;
}

#endif
