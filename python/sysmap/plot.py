"""Plots of a sysmap run file: `sysmap plot RUN.h5` (or python3 -m sysmap.plot).

Writes, next to RUN.h5 unless -o DIR is given:
  RUN-corner.png   corner plot of a, b, sigma (and gamma) over the
                   post-burn-in chain, original template basis: corner.corner
                   when the corner package is installed (--no-corner: the
                   built-in matplotlib one), with the injected values as
                   truths when the run file, or the input map named by
                   --truths, has them (injected_a, injected_b, injected_sigma);
  RUN-trace.png    every parameter's trace and the log-probability for a
                   subset of walkers, the burn-in shaded;
  RUN-weights.png  the systematic weight map 1/(1 + b.t) at the posterior
                   median and its 1-sigma (when the file has group maps):
                   Mollweide with healpy, else a plain longitude-latitude
                   projection of the pixel centres (--no-healpy forces it).
Reads the file with h5py; needs matplotlib, not libsysmap.
"""
import argparse
import os
import sys

import h5py
import numpy as np


def _injected(attrs):
    """Injected values of a synthetic map (HDF5 attributes), by parameter name."""
    out = {}
    for key, prefix in (("injected_a", "a_"), ("injected_b", "b_")):
        if key in attrs:
            out.update({f"{prefix}{i + 1}": float(v)
                        for i, v in enumerate(np.atleast_1d(attrs[key]))})
    if "injected_sigma" in attrs:
        out["sigma"] = float(np.asarray(attrs["injected_sigma"]).reshape(-1)[0])
    return out


def truths_from(path):
    """The injected values an HDF5 input map (sysmap run's INPUT.h5) records."""
    with h5py.File(path, "r") as f:
        return _injected(f.attrs)


def _load(path):
    with h5py.File(path, "r") as f:
        if "mcmc" not in f or "sysmap" not in f:
            raise ValueError(f"{path}: not a sysmap run file (no groups mcmc and sysmap)")
        it = int(f["mcmc"].attrs["iteration"])
        run = {"chain": f["mcmc/chain"][:it], "log_prob": f["mcmc/log_prob"][:it],
               "names": [n.decode() if isinstance(n, bytes) else str(n)
                         for n in f["sysmap/param_names"][...]],
               "n_burn": int(f["sysmap"].attrs["n_burn"]),
               "truths": _injected(f["sysmap"].attrs),
               "title": f"{f['sysmap'].attrs['model']} model, {it} steps x "
                        f"{f['mcmc'].attrs['nwalkers']} walkers"}
        if "maps" in f:
            g = f["maps"]
            run["maps"] = {k: g[k][...] for k in g}
            run["maps"].update({k: g.attrs[k] for k in ("nside", "ordering", "n_total")})
    if run["chain"].shape[0] <= run["n_burn"]:
        raise ValueError(f"{path}: {run['chain'].shape[0]} complete steps, none after the "
                         f"burn-in of {run['n_burn']}")
    return run


def _truth_list(run):
    t = [run["truths"].get(n) for n in run["names"]]
    return t if any(v is not None for v in t) else None


def corner(plt, run, out, dpi, use_corner=True):
    """corner.corner when installed (and use_corner), else a matplotlib one;
    injected values, where known, as truths."""
    flat = run["chain"][run["n_burn"]:].reshape(-1, run["chain"].shape[2])
    names, n = run["names"], flat.shape[1]
    truths = _truth_list(run)
    title = (f"posterior, original template basis\n{run['title']}, "
             f"{flat.shape[0]} post-burn-in samples"
             + ("; injected values in blue" if truths else ""))
    cc = None
    if use_corner:
        try:
            import corner as cc
        except ImportError:
            cc = None
    if cc is not None:
        fig = cc.corner(flat, labels=names, truths=truths, quantiles=[0.16, 0.5, 0.84],
                        show_titles=True, title_fmt=".3g", title_kwargs={"fontsize": 8})
        fig.suptitle(title, fontsize=10, y=1.02)
        fig.savefig(out, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        return "corner"
    size = min(1.7 * n, 20)
    fig, axes = plt.subplots(n, n, figsize=(size, size), squeeze=False)
    q = np.percentile(flat, [16, 50, 84], axis=0)
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(flat[:, i], bins=40, histtype="step", color="k")
                for v, ls in zip(q[:, i], ("--", "-", "--")):
                    ax.axvline(v, color="C3", ls=ls, lw=1)
                if truths and truths[i] is not None:
                    ax.axvline(truths[i], color="#4682b4", lw=1.5)
                ax.set_title(f"{names[i]} = {q[1, i]:.4g} "
                             f"+{q[2, i] - q[1, i]:.2g} -{q[1, i] - q[0, i]:.2g}", fontsize=8)
                ax.set_yticks([])
            else:
                ax.hist2d(flat[:, j], flat[:, i], bins=40, cmap="Greys")
                ax.plot(q[1, j], q[1, i], "+", color="C3")
                if truths and truths[i] is not None and truths[j] is not None:
                    ax.plot(truths[j], truths[i], "s", color="#4682b4", ms=4)
            if i == n - 1:
                ax.set_xlabel(names[j])
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(names[i])
            elif j > 0:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    fig.suptitle(title, fontsize=10)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return "matplotlib"


def trace(plt, run, out, dpi, n_walkers):
    chain, lp, burn = run["chain"], run["log_prob"], run["n_burn"]
    n_steps, w, n = chain.shape
    pick = np.linspace(0, w - 1, min(n_walkers, w)).astype(int)
    fig, axes = plt.subplots(n + 1, 1, figsize=(9, 1.4 * (n + 1)), sharex=True, squeeze=False)
    steps = np.arange(1, n_steps + 1)
    series = [chain[:, :, k] for k in range(n)] + [lp]
    for k, (ax, y) in enumerate(zip(axes[:, 0], series)):
        ax.plot(steps, y[:, pick], lw=0.5, alpha=0.5)
        ax.axvspan(0, burn, color="0.85", zorder=0)
        ax.axvline(burn, color="C3", ls="--", lw=1)
        ax.set_ylabel(run["names"][k] if k < n else "log prob", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_title(f"traces of {len(pick)} of {w} walkers; burn-in "
                         f"({burn} steps) shaded, left of the dashed line")
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def weights(plt, maps, out, dpi, use_healpy):
    hp = None
    if use_healpy and maps["nside"] > 0:
        try:
            import healpy as hp
        except ImportError:
            hp = None
    fields = (("weight", "systematic weight 1/(1 + b.t)"), ("weight_err", "1-sigma of the weight"))
    fig = plt.figure(figsize=(13, 4.5))
    for k, (key, title) in enumerate(fields):
        v = maps[key]
        if hp is not None:
            m = np.full(int(maps["n_total"]), hp.UNSEEN)
            m[maps["pixel"]] = v
            hp.mollview(m, fig=fig.number, sub=(1, 2, k + 1), title=title,
                        nest=maps["ordering"] == "NESTED", min=np.min(v), max=np.max(v))
        elif maps["nside"] > 0:
            ax = fig.add_subplot(1, 2, k + 1)
            lon = (np.degrees(maps["phi"]) + 180.0) % 360.0 - 180.0
            lat = 90.0 - np.degrees(maps["theta"])
            # Square markers about one pixel wide (41253 deg^2 over the sphere).
            width_pt = ax.get_position().width * fig.get_figwidth() * 72
            pix_deg = np.sqrt(41253.0 / float(maps["n_total"]))
            size = max((pix_deg * width_pt / 360.0) ** 2, 0.5)
            sc = ax.scatter(lon, lat, c=v, s=size, marker="s", linewidths=0)
            fig.colorbar(sc, ax=ax, shrink=0.8)
            ax.set_xlim(180, -180)
            ax.set_ylim(-90, 90)
            ax.set_xlabel("longitude [deg]")
            ax.set_ylabel("latitude [deg]")
            ax.set_title(title + " (plain projection)")
        else:
            ax = fig.add_subplot(1, 2, k + 1)
            ax.plot(maps["pixel"], v, ",")
            ax.set_xlabel("pixel (input array position; no sky coordinates)")
            ax.set_title(title)
    fig.suptitle("at the posterior median, original template basis")
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


MAX_DPI = 1000  # a 13 x 4.5 inch figure at this resolution is 58 megapixels


def _int_in(low, high):
    """An argparse type: an integer from low to high (high None: no bound)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"expects an integer from {low}" + (f" to {high}" if high else " up")
                + f", got {text!r}")
        return value
    return parse


def main(argv=None):
    ap = argparse.ArgumentParser(prog="sysmap plot", description=__doc__.split("\n")[0])
    ap.add_argument("run", help="run file (sysmap run -o, or run_mcmc(out=...))")
    ap.add_argument("-o", "--outdir", help="folder for the PNGs (default: the run file's)")
    ap.add_argument("--walkers", type=_int_in(1, None), default=32,
                    help="walkers in the trace plot (32)")
    ap.add_argument("--dpi", type=_int_in(1, MAX_DPI), default=100,
                    help=f"resolution of the PNGs, 1 to {MAX_DPI} (100)")
    ap.add_argument("--no-healpy", action="store_true",
                    help="plain projection even when healpy is installed")
    ap.add_argument("--no-corner", action="store_true",
                    help="the built-in corner plot even when the corner package is installed")
    ap.add_argument("--truths", metavar="INPUT.h5",
                    help="the run's HDF5 input map: its injected_a, injected_b, injected_sigma "
                         "are drawn as truths (when the run file records none)")
    args = ap.parse_args(argv)
    if args.outdir is not None and (args.outdir == "" or (os.path.exists(args.outdir)
                                                          and not os.path.isdir(args.outdir))):
        ap.error(f"-o {args.outdir!r}: not a folder (the PNGs go into -o DIR)")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    try:
        run = _load(args.run)
    except (OSError, KeyError, ValueError) as e:
        print(f"sysmap plot: {args.run}: {e}", file=sys.stderr)
        return 1
    if args.truths and not run["truths"]:
        try:
            run["truths"] = truths_from(args.truths)
        except OSError as e:
            print(f"sysmap plot: --truths {args.truths}: {e}", file=sys.stderr)
            return 1
    outdir = args.outdir or os.path.dirname(os.path.abspath(args.run))
    stem = os.path.join(outdir, os.path.splitext(os.path.basename(args.run))[0])
    written = [stem + "-corner.png", stem + "-trace.png"]
    try:
        os.makedirs(outdir, exist_ok=True)
        kind = corner(plt, run, written[0], args.dpi, not args.no_corner)
        trace(plt, run, written[1], args.dpi, args.walkers)
        if "maps" in run:
            written.append(stem + "-weights.png")
            weights(plt, run["maps"], written[2], args.dpi, not args.no_healpy)
    except OSError as e:
        print(f"sysmap plot: cannot write the PNGs into {outdir}: {e}", file=sys.stderr)
        return 1
    else:
        print(f"sysmap plot: {args.run} has no maps (HEALPix input or --maps-out makes them); "
              "no weight map", file=sys.stderr)
    for p in written:
        print(p)
    print(f"sysmap plot: corner plot drawn with {kind}"
          + (f", truths for {', '.join(k for k in run['names'] if k in run['truths'])}"
             if _truth_list(run) else ", no injected values known"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
