# A sys-mapping analysis as a user writes it: a synthetic contaminated map,
# the combined-model MCMC, point estimates and errors, a longer run, the
# emcee getters, the additive model with one's own emcee sampler and the
# analytic additive posterior. It runs unchanged with sys-mapping 1.1.0 when
# the import below reads `import sys_mapping`; tests/sys_mapping_dropin.py
# runs it with sysmap and checks its results.
import numpy as np
import emcee

import sysmap as sys_mapping

rng = np.random.default_rng(2024)
n_pix, n_sys = 3000, 3
templates = rng.standard_normal((n_sys, n_pix))
templates[1] += 0.3 * templates[0]
a_true = np.array([0.03, -0.02, 0.0])
b_true = np.array([0.06, 0.0, -0.04])
delta_true = 0.1 * rng.standard_normal(n_pix)
delta_obs = delta_true * (1 + b_true @ templates) + a_true @ templates

n_walkers, n_steps, n_burn = 48, 700, 300
flat_chain, sampler = sys_mapping.run_mcmc(
    n_sys, model="combined", delta_g_obs=delta_obs, delta_t=templates,
    n_walkers=n_walkers, n_steps=n_steps, n_burn=n_burn, seed=7, progress=False)
print(f"flat chain {flat_chain.shape}, mean acceptance {np.mean(sampler.acceptance_fraction):.3f}")

theta_hat = sys_mapping.get_mle_params(flat_chain)
a_hat, b_hat, sigma_hat, _ = sys_mapping.unpack_params(theta_hat, n_sys, "combined")
var_a, var_b = sys_mapping.get_param_variance_from_chain(flat_chain, n_sys, "combined")
cov_a, cov_b = sys_mapping.get_param_covariance_from_chain(flat_chain, n_sys, "combined")
for i in range(n_sys):
    print(f"t{i}: a = {a_hat[i]:+.4f} +- {np.sqrt(var_a[i]):.4f} (true {a_true[i]:+.3f}), "
          f"b = {b_hat[i]:+.4f} +- {np.sqrt(var_b[i]):.4f} (true {b_true[i]:+.3f})")
print(f"sigma = {float(sigma_hat):.4f}")

tau = sampler.get_autocorr_time(discard=n_burn, quiet=True)
print("autocorrelation times:", np.round(tau, 1))

# A longer chain: emcee continues from the last sample.
state = sampler.run_mcmc(None, 200, progress=False)
longer = sampler.get_chain(discard=n_burn, flat=True)
longer_lp = sampler.get_log_prob(discard=n_burn, flat=True)
thinned = sampler.get_chain(discard=n_burn, thin=10)
print(f"after 200 more steps: {sampler.iteration} steps, {longer.shape[0]} samples, "
      f"last log-prob {np.max(state.log_prob):.2f}")

# The additive model with one's own emcee sampler and the package's log-prob.
log_prob, n_dim = sys_mapping.make_log_prob(n_sys, "additive", delta_obs, templates,
                                            vectorize=True)
p0 = np.column_stack([rng.normal(0, 0.01, (32, n_sys)),
                      np.std(delta_obs) * (1 + rng.normal(0, 0.05, 32))])
own = emcee.EnsembleSampler(32, n_dim, log_prob, vectorize=True)
own.run_mcmc(p0, 500, progress=False)
additive_chain = own.get_chain(discard=200, flat=True)
a_additive = sys_mapping.get_mle_params(additive_chain)[:n_sys]

analytic_chain, analytic = sys_mapping.run_additive_analytic(
    n_sys, delta_g_obs=delta_obs, delta_t=templates, n_samples=20_000, seed=1)
print("additive a, emcee:", np.round(a_additive, 4), " analytic:",
      np.round(analytic_chain.mean(axis=0)[:n_sys], 4))
