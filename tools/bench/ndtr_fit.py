#!/usr/bin/env python3
"""Derives the coefficients of log_ndtr in kernels/common.cl.

Usage: tools/bench/ndtr_fit.py   (python3-mpmath; prints OpenCL C; a few minutes)

All fits run in mpmath at 60 digits; coefficients are rounded to the
precision, and each printed error is the largest relative error of the
rounded approximation evaluated as the kernel does (even/odd Horner in the
precision; fp32 emulated by rounding every operation) over a fine grid:

  NDTR_P / NDTR_Q: F(a) = exp(a^2/2) Q(a) = P(a) / Q(a) on [0, AMAX],
      Q(a) the upper normal tail (F is the Mills ratio over sqrt(2 pi)),
      q_0 = 1; a rational of degrees n / n + 1 (F ~ 1 / (a sqrt(2 pi))),
      fitted by Sanathanan-Koerner iterations, then Lawson's reweighting
      towards minimax, on relative error weighted by max(1, a^2 / 38.5^2):
      beyond a = 38.5 only x < 0 uses F, where ln Phi = -a^2/2 + ln F
      tolerates that much;
  NDTR_EXP: (r coth(r/2) - 2) / r^2 in r^2 on |r| <= ln2/2, so that
      exp(r) = (2 + r + r^2 E) / (2 - r + r^2 E) (as fdlibm's exp);
  NDTR_LOG: (atanh(s) / s - 1) / w in w = (2 s)^2 <= 4/9 (|s| <= 1/3),
      so that ln(1 + f) = 2 atanh(s) = 2s + 2s w L(w), s = f / (2 + f);
      Chebyshev interpolation (near-minimax).
"""
import struct

import mpmath as mp

mp.mp.dps = 60


def f32(x):
    return struct.unpack('f', struct.pack('f', float(x)))[0]


def horner_eo(coef, x, rnd):
    """Even and odd parts by Horner in x^2, as the kernel's HORNER macros."""
    x2 = rnd(x * x)

    def h(cs):
        acc = cs[-1]
        for c in reversed(cs[:-1]):
            acc = rnd(rnd(acc * x2) + c)
        return acc
    if len(coef) == 1:
        return coef[0]
    return rnd(rnd(h(coef[1::2]) * x) + h(coef[0::2]))


def cheb_monomials(fun, lo, hi, n):
    """Monomial coefficients of the degree-n interpolant at the Chebyshev
    nodes of [lo, hi]."""
    m = n + 1
    nodes = [mp.cos(mp.pi * (j + mp.mpf(1) / 2) / m) for j in range(m)]
    vals = [fun((hi - lo) / 2 * u + (hi + lo) / 2) for u in nodes]
    c = [2 * mp.fsum(vals[j] * mp.cos(mp.pi * k * (j + mp.mpf(1) / 2) / m) for j in range(m)) / m
         for k in range(m)]
    c[0] /= 2
    cheb = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    for k in range(2, m):
        a = [mp.mpf(0)] + [2 * v for v in cheb[k - 1]]
        b = cheb[k - 2] + [mp.mpf(0)] * (len(a) - len(cheb[k - 2]))
        cheb.append([x - y for x, y in zip(a, b)])
    in_u = [mp.mpf(0)] * m
    for k in range(m):
        for i, v in enumerate(cheb[k]):
            in_u[i] += c[k] * v
    mid, half = (hi + lo) / 2, (hi - lo) / 2
    in_x = [mp.mpf(0)] * m
    for i in range(m):
        for j in range(i + 1):
            in_x[j] += in_u[i] * mp.binomial(i, j) * (-mid) ** (i - j) / half ** i
    return in_x


def mills(a):
    return mp.erfc(a / mp.sqrt(2)) / 2 * mp.exp(a * a / 2)


def weight(a):
    return max(mp.mpf(1), (a / mp.mpf('38.5')) ** 2)


def fit_rational(n, amax):
    """P (degree n) / Q (degree n + 1, q_0 = 1) ~ mills on [0, amax]."""
    k, m = 4, 400
    grid = sorted({k * (1 + t) / (1 - t) for t in
                   (mp.cos(mp.pi * (j + mp.mpf(1) / 2) / m) for j in range(m))} | {mp.mpf(0)})
    grid = [a for a in grid if a < amax] + [amax]
    fv = [mills(a) for a in grid]
    base = [1 / (f * weight(a)) for a, f in zip(grid, fv)]

    def solve(w):
        rows = [[wi * a ** i for i in range(n + 1)] + [-wi * f * a ** i for i in range(1, n + 2)]
                for a, f, wi in zip(grid, fv, w)]
        sol = mp.qr_solve(mp.matrix(rows), mp.matrix([wi * f for f, wi in zip(fv, w)]))[0]
        return [sol[i] for i in range(n + 1)], [mp.mpf(1)] + [sol[n + 1 + i] for i in range(n + 1)]

    def errors(p, q):
        return [(mp.polyval(p[::-1], a) / mp.polyval(q[::-1], a) - f) / f / weight(a)
                for a, f in zip(grid, fv)]
    p, q = solve(base)
    for _ in range(6):
        p, q = solve([b / abs(mp.polyval(q[::-1], a)) for b, a in zip(base, grid)])
    e = errors(p, q)
    best = (max(abs(x) for x in e), p, q)
    lawson = [mp.mpf(1)] * len(grid)
    for _ in range(40):
        worst = max(abs(x) for x in e)
        lawson = [lw * abs(x) / worst for lw, x in zip(lawson, e)]
        total = sum(lawson)
        lawson = [lw / total * len(grid) for lw in lawson]
        p, q = solve([b * mp.sqrt(lw) / abs(mp.polyval(q[::-1], a))
                      for b, lw, a in zip(base, lawson, grid)])
        e = errors(p, q)
        if max(abs(x) for x in e) < best[0]:
            best = (max(abs(x) for x in e), p, q)
    return best[1], best[2]


def exp_fun(z):
    if z == 0:
        return mp.mpf(1) / 6
    r = mp.sqrt(z)
    return (r * mp.coth(r / 2) - 2) / z


def log_fun(w):
    if w == 0:
        return mp.mpf(1) / 12
    s = mp.sqrt(w) / 2
    return (mp.atanh(s) / s - 1) / w


def literal(x, fp32):
    h = float(x).hex()
    mant, exp = h.split('p')
    if '.' in mant:
        mant = mant.rstrip('0').rstrip('.')
    return '%sp%s%s' % (mant, exp, 'f' if fp32 else '')


def emit(name, coef, fp32, note):
    print('/* %s */' % note)
    print('__constant real %s[%d] = {%s};' % (name, len(coef),
                                               ', '.join(literal(c, fp32) for c in coef)))


def main():
    for fp32, n_pq, amax, n_exp, n_log in ((False, 9, 2 ** 26, 5, 10), (True, 4, 2 ** 12, 2, 4)):
        rnd = f32 if fp32 else float
        print('/* %s */' % ('fp32' if fp32 else 'fp64'))
        p, q = fit_rational(n_pq, mp.mpf(amax))
        pr, qr = [rnd(c) for c in p], [rnd(c) for c in q]
        grid = [4.0 * (1 + t) / (1 - t) for t in (-1 + 2 * i / 20000 for i in range(20000))]
        grid = sorted({rnd(min(a, amax)) for a in grid} | {rnd(i / 500) for i in range(20000)})
        worst = max(abs(rnd(horner_eo(pr, a, rnd) / horner_eo(qr, a, rnd)) / mills(mp.mpf(a)) - 1)
                    / weight(mp.mpf(a)) for a in grid)
        emit('NDTR_P', pr, fp32, 'P/Q: degrees %d/%d on [0, 2^%d], max weighted relative '
             'error %.2g' % (n_pq, n_pq + 1, amax.bit_length() - 1, worst))
        emit('NDTR_Q', qr, fp32, 'q_0 = 1')
        for name, fun, hi, n in (('NDTR_EXP', exp_fun, (mp.log(2) / 2) ** 2 * mp.mpf('1.0001'), n_exp),
                                 ('NDTR_LOG', log_fun, mp.mpf(4) / 9 * mp.mpf('1.0001'), n_log)):
            coef = [rnd(c) for c in cheb_monomials(fun, mp.mpf(0), hi, n - 1)]
            zs = [hi * i / 4000 for i in range(4001)]
            worst = 0.0
            for z in zs:
                z = rnd(float(z))
                acc = coef[-1]
                for c in reversed(coef[:-1]):
                    acc = rnd(rnd(acc * z) + c)
                worst = max(worst, abs(acc / fun(mp.mpf(z)) - 1))
            emit(name, coef, fp32, 'degree %d, max relative error %.2g' % (n - 1, worst))


if __name__ == '__main__':
    main()
