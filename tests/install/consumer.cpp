// A C++ program using the installed library: <sysmap/sysmap.h> must compile
// as C++ and its functions link with C names (extern "C" in every header).
// One log-probability of the combined model on a three-pixel map, against
// the value computed here by hand from the model's formula, and one call
// into each of several other headers, against known values.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <sysmap/sysmap.h>

namespace {

struct DataFree {
    void operator()(sm_data_t *d) const { sm_data_free(d); }
};
struct BackendFree {
    void operator()(sm_backend_t *b) const { sm_backend_free(b); }
};

int fail(const char *what)
{
    std::fprintf(stderr, "consumer.cpp: %s: %s\n", what, sm_last_error());
    return 1;
}

// model.h, sizes.h, rng.h, stats.h, run.h: values known independently.
int other_headers()
{
    std::size_t n = 0;
    if (sm_size_mul(3, 4, "cells", &n) != SM_OK || n != 12)
        return fail("sm_size_mul");
    // ln Phi(0) = ln(1/2).
    if (std::fabs(sm_model_log_ndtr(0.0) - std::log(0.5)) > 1e-15)
        return fail("sm_model_log_ndtr");
    // numpy: np.random.RandomState(42).random_sample() = 0.3745401188473625.
    sm_rng_t *rng = nullptr;
    if (sm_rng_create(&rng, 42) != SM_OK)
        return fail("sm_rng_create");
    const double u = sm_rng_uniform(rng);
    sm_rng_free(rng);
    if (u != 0.3745401188473625)
        return fail("sm_rng_uniform");
    const double flat[3] = {3.0, 1.0, 2.0};
    double median = 0.0;
    if (sm_stats_median(flat, 3, 1, &median) != SM_OK || median != 2.0)
        return fail("sm_stats_median");
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    if (cfg.struct_size != sizeof cfg || sm_run_config_check(&cfg, 1) != SM_OK)
        return fail("sm_run_config_default");
    std::printf("sysmap %s (C++): model, sizes, rng, stats and run headers\n", sm_version());
    return 0;
}

}  // namespace

int main()
{
    const std::vector<double> d = {0.1, -0.2, 0.05}, t = {1.0, -0.5, 0.3};
    sm_data_t *data_raw = nullptr;
    if (sm_data_create(&data_raw, d.size(), 1, d.data(), t.data(), nullptr) != SM_OK)
        return fail("sm_data_create");
    std::unique_ptr<sm_data_t, DataFree> data(data_raw);

    sm_model_t model = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, 1, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_backend_t *be_raw = nullptr;
    if (sm_backend_open(&be_raw, "reference", nullptr, nullptr, data.get(), &model) != SM_OK)
        return fail("sm_backend_open");
    std::unique_ptr<sm_backend_t, BackendFree> be(be_raw);

    // [a_1, b_1, sigma], then a walker outside the prior (sigma <= sigma_min).
    const double a = 0.02, b = 0.1, sigma = 0.1;
    const double params[2][3] = {{a, b, sigma}, {a, b, 0.0}};
    double lp[2] = {0.0, 0.0};
    if (sm_backend_log_prob(be.get(), 2, &params[0][0], lp) != SM_OK)
        return fail("sm_backend_log_prob");

    // lnL = -(N/2) ln(2 pi sigma^2) - sum ln|m_j| - sum r_j^2 / (2 sigma^2),
    // m_j = 1 + b t_j, r_j = (d_j - a t_j) / m_j.
    const double pi = 3.14159265358979323846;
    double log_m = 0.0, sq = 0.0;
    for (std::size_t j = 0; j < d.size(); j++) {
        double m = 1.0 + b * t[j], r = (d[j] - a * t[j]) / m;
        log_m += std::log(std::fabs(m));
        sq += r * r;
    }
    const double n = static_cast<double>(d.size());
    const double by_hand = -0.5 * n * std::log(2.0 * pi * sigma * sigma) - log_m -
                           sq / (2.0 * sigma * sigma);
    const double exact = 1.7216578977882971117;  // the same formula in 40 digits

    std::printf("sysmap %s (C++): log-prob %.17g, by hand %.17g\n", sm_version(), lp[0],
                by_hand);
    int ok = std::fabs(lp[0] - by_hand) <= 1e-13 * std::fabs(by_hand) &&
             std::fabs(lp[0] - exact) <= 1e-13 * std::fabs(exact) && std::isinf(lp[1]) &&
             lp[1] < 0 && std::strcmp(sm_version(), SM_VERSION_STRING) == 0 &&
             std::strcmp(sm_backend_name(be.get()), "reference") == 0;
    if (!ok)
        std::fprintf(stderr, "consumer.cpp: unexpected log-probabilities %.17g, %g\n", lp[0],
                     lp[1]);
    if (!ok)
        return 1;
    return other_headers();
}
