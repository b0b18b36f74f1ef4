/* The summary table printed at the end of `sysmap run`. */
#include <math.h>
#include <stdio.h>

#include "sysmap/stats.h"
#include "sysmap/version.h"
#include "cli.h"

/* Injected value of parameter i, when the input is a synthetic map. */
static int injected(const sm_model_t *m, const sm_data_t *data, size_t i, double *value)
{
    long a0 = sm_model_a_offset(m), b0 = sm_model_b_offset(m);
    const double *a = sm_data_injected_a(data), *b = sm_data_injected_b(data);
    /* b first: the multiplicative model's one vector (b = a) is named b. */
    if (b != NULL && b0 >= 0 && i >= (size_t)b0 && i < (size_t)b0 + m->n_sys) {
        *value = b[i - (size_t)b0];
        return 1;
    }
    if (a != NULL && a0 >= 0 && i >= (size_t)a0 && i < (size_t)a0 + m->n_sys) {
        *value = a[i - (size_t)a0];
        return 1;
    }
    return 0;
}

/* Template name of parameter i, or "" for sigma and gamma. */
static const char *template_of(const sm_model_t *m, const sm_data_t *data, size_t i)
{
    return i < sm_model_n_cont(m) ? sm_data_template_name(data, i % m->n_sys) : "";
}

void cli_print_summary(FILE *out, const sm_run_t *run, const sm_data_t *data, const char *input,
                       const char *output)
{
    const sm_run_config_t *c = sm_run_config(run);
    const sm_model_t *m = sm_run_model(run);
    const sm_chainfile_summary_t *s = sm_run_summary(run);
    size_t n_dim = sm_model_n_dim(m);

    fprintf(out, "\nsysmap %s: %s -> %s\n", sm_version(), input, output);
    fprintf(out, "model %s, %s likelihood; %zu pixels used, %zu templates\n",
            sm_model_name(m->kind), m->skew ? "skew-normal" : "Gaussian", sm_data_n_pix(data),
            m->n_sys);
    const sm_backend_t *be = sm_run_backend(run);
    fprintf(out, "backend %s, %s, on %s\n", sm_backend_name(be), sm_backend_precision(be),
            sm_backend_device(be));
    fprintf(out, "%zu walkers x %zu steps (%zu burn-in), seed %u; sampled in the %s basis\n",
            c->n_walkers, c->n_steps, c->n_burn, (unsigned)c->seed, sm_basis_name(c->basis));
    fprintf(out, "posterior of the %zu post-burn-in steps, in the original template basis:\n\n",
            c->n_steps - c->n_burn);
    fprintf(out, "%-8s %-18s %12s %12s %12s %10s %9s\n", "param", "template", "injected",
            "median", "1-sigma", "tau[steps]", "ESS");
    for (size_t i = 0; i < n_dim; i++) {
        double inj;
        char inj_text[32] = "-";
        if (injected(m, data, i, &inj))
            snprintf(inj_text, sizeof inj_text, "%.6f", inj);
        fprintf(out, "%-8s %-18.18s %12s %12.6f %12.6f %10.1f %9.0f\n", sm_run_param_name(run, i),
                template_of(m, data, i), inj_text, s->median[i], s->std[i], s->autocorr_time[i],
                s->ess[i]);
    }
    double lo = INFINITY, hi = -INFINITY, mean = 0.0;
    for (size_t w = 0; w < c->n_walkers; w++) {
        double f = s->acceptance_fraction[w];
        lo = fmin(lo, f);
        hi = fmax(hi, f);
        mean += f / (double)c->n_walkers;
    }
    fprintf(out, "\nacceptance fraction: mean %.3f (walkers range %.3f to %.3f)\n", mean, lo, hi);
    /* An empty posterior has its own warning below. */
    if (s->autocorr_too_short && s->n_kept > 0)
        fprintf(out, "warning: the chain is shorter than %.0f autocorrelation times; tau and ESS "
                     "are unreliable, run more steps\n",
                SM_STATS_AUTOCORR_TOL);
    for (size_t i = 0; i < sm_run_n_warnings(run); i++)
        fprintf(out, "warning: %s\n", sm_run_warning(run, i));
    fprintf(out, "wall time %.2f s sampling; %.4g log-prob evaluations/s (each over %zu pixels)\n",
            s->wall_s, s->evals_per_s, sm_data_n_pix(data));
}
