/* Uses the installed library: one log-probability on a three-pixel map. */
#include <math.h>
#include <stdio.h>

#include <sysmap/sysmap.h>

int main(void)
{
    const double d[3] = {0.1, -0.2, 0.05}, t[3] = {1.0, -0.5, 0.3};
    sm_data_t *data;
    sm_backend_t *be;
    sm_model_t model = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 1, SM_MODEL_SIGMA_MIN_DEFAULT);
    if (sm_data_create(&data, 3, 1, d, t, NULL) != SM_OK ||
        sm_backend_open(&be, "reference", NULL, NULL, data, &model) != SM_OK) {
        fprintf(stderr, "consumer: %s\n", sm_last_error());
        return 1;
    }
    double p[2] = {0.0, 0.1}, lp;
    sm_status st = sm_backend_log_prob(be, 1, p, &lp);
    printf("sysmap %s: log-prob %.6f\n", sm_version(), lp);
    sm_backend_free(be);
    sm_data_free(data);
    return st == SM_OK && isfinite(lp) ? 0 : 1;
}
