"""An independent, pure-Python re-implementation of the synthetic market (``janus_core.synthetic``),
value by value, for the cross-path test: no numpy arithmetic at all.

- Random bits: PCG64 (XSL-RR 128/64) stepped with Python integers from the state numpy's
  ``SeedSequence(seed).spawn(8)`` streams start in (seeding is integer hashing), with the LCG's
  jump-ahead to fetch the draw at any index.
- Functions: ``exp``, ``log`` and the AS 241 normal quantile written out again in scalar Python
  (constants typed in here, not imported), ``math.sqrt`` (correctly rounded everywhere).
- The model: the formulas of ``janus_core.synthetic``'s docstring, in the order its ``generate``
  evaluates them, one Python float operation at a time.

Same bits as the library here means the library's stored values are a function of the formulas
alone, not of SIMD kernels, BLAS or libm: those appear on neither path.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

M64 = (1 << 64) - 1
M128 = (1 << 128) - 1
PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645


class Pcg64:
    """numpy's PCG64 in Python integers: ``state = state * MULT + inc (mod 2^128)``, then the output
    ``rotr64(hi ^ lo, state >> 122)`` of the new state."""

    def __init__(self, state: int, inc: int) -> None:
        self.state0, self.inc = state, inc
        self.state = state

    @classmethod
    def spawned(cls, seed: int, n: int) -> list[Pcg64]:
        out = []
        for child in np.random.SeedSequence(seed).spawn(n):
            s = np.random.PCG64(child).state["state"]
            out.append(cls(int(s["state"]), int(s["inc"])))
        return out

    @staticmethod
    def output(state: int) -> int:
        x = ((state >> 64) ^ state) & M64
        rot = state >> 122
        return ((x >> rot) | (x << ((-rot) & 63))) & M64

    def next(self) -> int:
        self.state = (self.state * PCG_MULT + self.inc) & M128
        return self.output(self.state)

    def take(self, n: int) -> list[int]:
        return [self.next() for _ in range(n)]

    def at(self, index: int) -> int:
        """The raw draw number ``index`` (0-based) of the stream, by jump-ahead from its start."""
        delta, cur_mult, cur_plus, acc_mult, acc_plus = index + 1, PCG_MULT, self.inc, 1, 0
        while delta:
            if delta & 1:
                acc_mult = (acc_mult * cur_mult) & M128
                acc_plus = (acc_plus * cur_mult + cur_plus) & M128
            cur_plus = ((cur_mult + 1) * cur_plus) & M128
            cur_mult = (cur_mult * cur_mult) & M128
            delta >>= 1
        return self.output((acc_mult * self.state0 + acc_plus) & M128)


TWO_M53 = math.ldexp(1.0, -53)


def u_of(raw: int) -> float:
    return float((((raw >> 12) << 1) | 1)) * TWO_M53


LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
EXP_C = [float(Fraction(1, math.factorial(k))) for k in range(13, -1, -1)]
LOG_C = [float(Fraction(1, 2 * j + 1)) for j in range(11, -1, -1)]


def horner(x: float, coeffs: list[float]) -> float:
    p = coeffs[0]
    for c in coeffs[1:]:
        p = p * x + c
    return p


def exp(x: float) -> float:
    n = float(round(x * INV_LN2))
    r = (x - n * LN2_HI) - n * LN2_LO
    return math.ldexp(horner(r, EXP_C), int(n))


def log(x: float) -> float:
    m, e = math.frexp(x)
    if m < 0.70710678118654752440:
        m, e = m * 2.0, e - 1
    f = m - 1.0
    s = f / (f + 2.0)
    ef = float(e)
    return ef * LN2_HI + (ef * LN2_LO + (s * 2.0) * horner(s * s, LOG_C))


# AS 241 (Wichura 1988), as printed in R's qnorm.c, highest degree first.
A = [
    2509.0809287301226727,
    33430.575583588128105,
    67265.770927008700853,
    45921.953931549871457,
    13731.693765509461125,
    1971.5909503065514427,
    133.14166789178437745,
    3.387132872796366608,
]
B = [
    5226.495278852545925,
    28729.085735721942674,
    39307.89580009271061,
    21213.794301586595867,
    5394.1960214247511077,
    687.1870074920579083,
    42.313330701600911252,
    1.0,
]
C = [
    7.7454501427834140764e-4,
    0.0227238449892691845833,
    0.24178072517745061177,
    1.27045825245236838258,
    3.64784832476320460504,
    5.7694972214606914055,
    4.6303378461565452959,
    1.42343711074968357734,
]
D = [
    1.05075007164441684324e-9,
    5.475938084995344946e-4,
    0.0151986665636164571966,
    0.14810397642748007459,
    0.68976733498510000455,
    1.6763848301838038494,
    2.05319162663775882187,
    1.0,
]
E = [
    2.01033439929228813265e-7,
    2.71155556874348757815e-5,
    0.0012426609473880784386,
    0.026532189526576123093,
    0.29656057182850489123,
    1.7848265399172913358,
    5.4637849111641143699,
    6.6579046435011037772,
]
F = [2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4,
     0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1.0]  # fmt: skip


def ndtri(p: float) -> float:
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return (q * horner(r, A)) / horner(r, B)
    r = math.sqrt(-log(min(p, 1.0 - p)))
    if r <= 5.0:
        z = horner(r - 1.6, C) / horner(r - 1.6, D)
    else:
        z = horner(r - 5.0, E) / horner(r - 5.0, F)
    return -z if q < 0.0 else z


def clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def categorical_cdf(weights) -> list[float]:
    running, total = [], 0.0
    for w in weights:
        total = total + float(w)
        running.append(total)
    return [v / total for v in running]


def pick(cdf: list[float], u: float) -> int:
    return min(bisect.bisect_right(cdf, u), len(cdf) - 1)


def ticks(value: float, decimals: int) -> float:
    return max(float(round(value * float(10**decimals))), 1.0)


@dataclass
class Market:
    """What the reference computed: securities and benchmarks in full; prices and exposures of the
    requested stocks; every event as (stock index, event-day index, injected CAR)."""

    tier: list[int]
    industry: list[int]
    alpha: list[float]
    beta: list[float]
    bench_close: list[list[float]]  # [t][b]
    prices: dict[tuple[int, int], tuple[float, float, float, bool]] = field(default_factory=dict)  # (i, t)
    exposures: dict[tuple[int, int], list[float]] = field(default_factory=dict)  # (i, t) -> by factor k
    events: list[tuple[int, int, float]] = field(default_factory=list)


def reference_market(cfg, stocks: list[int]) -> Market:  # noqa: C901 - one formula after the other
    T, N, K, NI = cfg.n_days, cfg.n_stocks, 4, cfg.n_industries
    sec, mkt, expo, ret, evt, lim, susp, _txt = Pcg64.spawned(cfg.seed, 8)
    normal = lambda raw: ndtri(u_of(raw))  # noqa: E731

    # securities: tier, industry, alpha, beta, sigma, price0 (N draws each, in this order)
    raw = sec.take(6 * N)
    cdf = categorical_cdf(cfg.tier_shares)
    tier = [pick(cdf, u_of(raw[i])) for i in range(N)]
    industry = [min(math.floor(u_of(raw[N + i]) * float(NI)), NI - 1) for i in range(N)]
    alpha = [normal(raw[2 * N + i]) * cfg.alpha_sd for i in range(N)]
    beta = [clip(normal(raw[3 * N + i]) * cfg.beta_sd + cfg.beta_mean, *cfg.beta_bounds) for i in range(N)]
    sigma = [cfg.idio_vol[tier[i]] * exp(normal(raw[4 * N + i]) * cfg.idio_vol_dispersion) for i in range(N)]
    lo, hi = log(cfg.price_range[0]), log(cfg.price_range[1])
    price0 = [exp(u_of(raw[5 * N + i]) * (hi - lo) + lo) for i in range(N)]

    # benchmarks
    vol, rho = cfg.bench_vol, cfg.bench_corr
    corr = [[1.0, rho[0], rho[1]], [rho[0], 1.0, rho[2]], [rho[1], rho[2], 1.0]]
    cov = [[corr[i][j] * vol[i] * vol[j] for j in range(3)] for i in range(3)]
    L = [[0.0] * 3 for _ in range(3)]
    for i in range(3):
        for j in range(i + 1):
            acc = cov[i][j]
            for k in range(j):
                acc = acc - L[i][k] * L[j][k]
            L[i][j] = math.sqrt(acc) if i == j else acc / L[j][j]
    zm = [normal(v) for v in mkt.take(3 * T)]
    r_bench = [[0.0, 0.0, 0.0] for _ in range(T)]
    for t in range(1, T):
        for i in range(3):
            lz = zm[3 * t] * L[i][0]
            for j in range(1, i + 1):
                lz = lz + zm[3 * t + j] * L[i][j]
            r_bench[t][i] = lz + cfg.bench_mean[i]
    bench_close = []
    prod = [1.0, 1.0, 1.0]
    for t in range(T):
        prod = [prod[b] * (1.0 + r_bench[t][b]) for b in range(3)]
        bench_close.append(
            [ticks(prod[b] * cfg.bench_base[b], cfg.index_decimals) / float(10**cfg.index_decimals) for b in range(3)]
        )

    # exposures: level (N K), eta (T N K), initial drift (N K), factor returns (T K), industry returns (T NI)
    NK = N * K
    raw = expo.take(2 * NK + T * NK + T * K + T * NI)
    level = [[normal(raw[i * K + k]) * cfg.exposure_level_sd for k in range(K)] for i in range(N)]
    for i in range(N):
        level[i][0] = level[i][0] + cfg.tier_size_level[tier[i]]
    c_eta = cfg.exposure_drift_sd * math.sqrt(1.0 - cfg.exposure_phi * cfg.exposure_phi)
    drift = [[normal(raw[NK + T * NK + i * K + k]) * cfg.exposure_drift_sd for k in range(K)] for i in range(N)]
    x = [[[0.0] * K for _ in range(N)] for _ in range(T)]
    for t in range(T):
        rows = []
        for i in range(N):
            for k in range(K):
                drift[i][k] = drift[i][k] * cfg.exposure_phi + normal(raw[NK + (t * N + i) * K + k]) * c_eta
            rows.append([level[i][k] + drift[i][k] for k in range(K)])
        for k in range(K):
            acc = rows[0][k]
            for i in range(1, N):
                acc = acc + rows[i][k]
            mean = acc / float(N)
            dev = [rows[i][k] - mean for i in range(N)]
            acc = dev[0] * dev[0]
            for i in range(1, N):
                acc = acc + dev[i] * dev[i]
            sd = math.sqrt(acc / float(N))
            for i in range(N):
                x[t][i][k] = dev[i] / sd
    base = 2 * NK + T * NK
    fac = [[normal(raw[base + t * K + k]) * cfg.factor_vol[k] for k in range(K)] for t in range(T)]
    ind = [[normal(raw[base + T * K + t * NI + m]) * cfg.industry_vol for m in range(NI)] for t in range(T)]

    # events: allocation, days, types, signs, magnitudes
    news_days = T - cfg.warmup_days - cfg.tail_days
    gap = cfg.min_event_gap
    cap = (news_days - 1) // gap + 1
    weight = [cfg.tier_news_weight[tier[i]] for i in range(N)]
    counts = [0] * N
    cdf = categorical_cdf(weight)
    for _ in range(cfg.n_events):
        counts[pick(cdf, u_of(evt.next()))] += 1
    while (excess := sum(max(c - cap, 0) for c in counts)) > 0:
        counts = [min(c, cap) for c in counts]
        cdf = categorical_cdf([weight[i] if counts[i] < cap else 0.0 for i in range(N)])
        for _ in range(excess):
            counts[pick(cdf, u_of(evt.next()))] += 1
    ev_stock = [i for i in range(N) for _ in range(counts[i])]
    y = [u_of(evt.next()) * float(news_days - (counts[s] - 1) * gap) for s in ev_stock]
    order = sorted(range(len(ev_stock)), key=lambda e: (ev_stock[e], y[e]))
    first = {}
    ev_day = []
    for pos, e in enumerate(order):
        s = ev_stock[e]
        first.setdefault(s, pos)
        ev_day.append(cfg.warmup_days + math.floor(y[e]) + (pos - first[s]) * gap)
    ev_stock = [ev_stock[e] for e in order]
    n_ev = len(ev_stock)
    cdf = categorical_cdf(cfg.type_shares)
    ev_type = [pick(cdf, u_of(evt.next())) for _ in range(n_ev)]
    positive = [u_of(evt.next()) < cfg.type_positive_prob[ev_type[e]] for e in range(n_ev)]
    k_shape = cfg.magnitude_shape
    raw = evt.take(n_ev * k_shape)
    cars = []
    for e in range(n_ev):
        total = log(u_of(raw[e * k_shape]))
        for j in range(1, k_shape):
            total = total + log(u_of(raw[e * k_shape + j]))
        magnitude = -total * (cfg.type_mean_abs_car[ev_type[e]] / float(k_shape))
        cars.append(magnitude if positive[e] else -magnitude)
    injected: dict[tuple[int, int], float] = {}
    protected: set[tuple[int, int]] = set()
    for e in range(n_ev):
        for j, share in enumerate(cfg.injection_profile):
            injected[(ev_day[e] + j, ev_stock[e])] = cars[e] * share
        for j in (-1, 0, 1, 2):
            protected.add((ev_day[e] + j, ev_stock[e]))
    events = list(zip(ev_stock, ev_day, cars))

    # suspensions: a start where u < rate (row-major (t, i), t > 0), then one geometric length per start
    TN = T * N
    starts = [(c // N, c % N) for c, v in enumerate(susp.take(TN)) if u_of(v) < cfg.suspension_rate and c // N > 0]
    p = 1.0 / cfg.suspension_mean_days
    suspended: set[tuple[int, int]] = set()
    for s_idx, (t0, i) in enumerate(starts):
        if p == 1.0:
            length = 1
        else:
            length = int(math.floor(log(u_of(susp.next())) / log(1.0 - p)) + 1.0)
        length = min(length, cfg.suspension_max_days)
        days = [t for t in range(t0, t0 + length) if t < T]
        if not any((t, i) in protected for t in days):
            suspended.update((t, i) for t in days)

    # returns and prices of the requested stocks
    market = Market(tier=tier, industry=industry, alpha=alpha, beta=beta, bench_close=bench_close, events=events)
    nu = cfg.t_dof
    scale_t = math.sqrt(nu / (nu - 2.0))
    per_unit = float(10**cfg.price_decimals)
    for i in stocks:
        prod, latent, locked = 1.0, [], []
        for t in range(T):
            z = [normal(ret.at((t * N + i) * (nu + 1) + j)) for j in range(nu + 1)]
            chi2 = z[1] * z[1]
            for j in range(2, nu + 1):
                chi2 = chi2 + z[j] * z[j]
            eps = z[0] / math.sqrt(chi2 / float(nu)) * (sigma[i] / scale_t)
            style = x[t][i][0] * fac[t][0]
            for k in range(1, K):
                style = style + x[t][i][k] * fac[t][k]
            r = alpha[i] + beta[i] * r_bench[t][tier[i]] + style + ind[t][industry[i]] + eps
            r = r + injected.get((t, i), 0.0)
            lock = t > 0 and u_of(lim.at(t * N + i)) < cfg.limit_lock_rate and (t, i) not in protected
            sign = 1.0 if u_of(lim.at(TN + t * N + i)) < 0.5 else -1.0
            r = sign * cfg.limit if lock else clip(r, -cfg.limit, cfg.limit)
            if t == 0:
                r = 0.0
            prod = prod * (1.0 + r)
            latent.append(ticks(price0[i] * prod, cfg.price_decimals))
            locked.append(lock)
        last, prev = 0, latent[0]
        for t in range(T):
            if (t, i) not in suspended:
                last = t
            close = latent[last]
            r_obs = close / prev - 1.0
            noise = normal(lim.at(2 * TN + t * N + i)) * cfg.open_noise
            gap_open = clip(r_obs * cfg.open_omega + noise, -cfg.limit, cfg.limit)
            if t == 0:
                open_ = close
            elif (t, i) in suspended:
                open_ = prev
            elif locked[t]:
                open_ = close
            else:
                open_ = ticks(prev * (1.0 + gap_open), 0)
            z_volume = normal(lim.at(3 * TN + t * N + i))
            lots = ticks(cfg.volume_median[tier[i]] * exp(z_volume * cfg.volume_dispersion) / float(cfg.volume_lot), 0)
            volume = 0.0 if (t, i) in suspended else lots * float(cfg.volume_lot)
            tradable = (t, i) not in suspended and abs(r_obs) < cfg.limit_lock_threshold
            market.prices[(i, t)] = (open_ / per_unit, close / per_unit, volume, tradable)
            market.exposures[(i, t)] = list(x[t][i])
            prev = close
    return market
