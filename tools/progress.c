/* The progress bar and the signals that stop a run cleanly. */
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "clock.h"

#define BAR_WIDTH 30
#define REDRAW_S 0.2

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void cli_install_signal_handlers(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

volatile sig_atomic_t *cli_stop_flag(void)
{
    return &stop_requested;
}

void cli_progress_init(cli_progress_t *bar, int enabled)
{
    bar->enabled = enabled;
    bar->t0 = sm_now_s();
    bar->first = (size_t)-1;
    bar->last_draw = 0.0;
}

int cli_progress_update(void *p, size_t done, size_t total)
{
    cli_progress_t *bar = p;
    if (bar->first == (size_t)-1) {
        /* Rates count from the first step of this process (resume). */
        bar->first = done - 1;
        bar->t0 = sm_now_s();
    }
    double t = sm_now_s();
    if (bar->enabled && (done == total || t - bar->last_draw >= REDRAW_S)) {
        bar->last_draw = t;
        double elapsed = t - bar->t0, rate = elapsed > 0 ? (double)(done - bar->first) / elapsed : 0;
        double eta = rate > 0 ? (double)(total - done) / rate : 0;
        int fill = (int)((double)BAR_WIDTH * (double)done / (double)total);
        char bar_text[BAR_WIDTH + 1];
        for (int i = 0; i < BAR_WIDTH; i++)
            bar_text[i] = i < fill ? '#' : '.';
        bar_text[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r[%s] %zu/%zu steps  %.1f steps/s  ETA %.0f s ", bar_text, done, total,
                rate, eta);
        fflush(stderr);
    }
    return stop_requested != 0;
}

void cli_progress_finish(cli_progress_t *bar)
{
    if (bar->enabled)
        fputc('\n', stderr);
}
