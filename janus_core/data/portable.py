"""Bit-reproducible random variates and elementary functions, for data that must be identical on
every CPU.

numpy's ``exp``/``log`` use SIMD kernels chosen at run time (AVX2, AVX-512, NEON, ...) whose results
differ in the last bit between CPUs, matrix products go through BLAS kernels that differ likewise,
and numpy's normal, gamma, geometric and binomial samplers call the platform's ``libm`` (and, on
some platforms, fused multiply-adds) inside their loops. Any of these on the path to a stored value
makes a "deterministic" dataset differ between machines.

Everything here is built only from operations IEEE 754 defines exactly (correctly rounded ``+``,
``-``, ``*``, ``/``, ``sqrt``; exact ``rint``, ``floor``, ``frexp``, ``ldexp``, comparisons), one
numpy ufunc call per operation (so nothing can be fused or reordered), reductions done as sequential
accumulations, and random bits taken as raw 64-bit integers from the bit generator. A scalar Python
evaluation of the same formulas in the same order gives the same bits, which is how
``tests/test_portable.py`` and ``tests/test_synthetic.py`` check them.

- :func:`uniform`: ``u = (2k + 1) / 2^53`` with ``k`` the top 52 bits of a raw draw: in (0, 1),
  symmetric (``1 - u`` is of the same form), never 0 or 1.
- :func:`exp`: ``exp(x) = 2^n exp(r)`` with ``n = rint(x / ln 2)``, ``r = x - n ln2_hi - n ln2_lo``
  (``|r| <= ln(2)/2``) and ``exp(r)`` by its Taylor series to degree 13 (Horner); about 1 ulp.
- :func:`log`: ``x = 2^e m`` with ``m`` in [sqrt(1/2), sqrt(2)), ``s = (m - 1) / (m + 1)``,
  ``log(m) = 2 s (1 + s^2/3 + s^4/5 + ... + s^22/23)``, ``log(x) = e ln2_hi + (e ln2_lo + log(m))``.
- :func:`ndtri`: the inverse normal CDF by Wichura's algorithm AS 241 (PPND16, relative accuracy
  about 1e-16), with :func:`log` in its tails.
- Variates: :func:`standard_normal` (``ndtri(u)``, one raw draw each), :func:`student_t` (integer
  degrees of freedom ``nu``: ``z_0 / sqrt((z_1^2 + ... + z_nu^2) / nu)``), :func:`erlang` (integer
  shape ``k``: ``-(log u_1 + ... + log u_k)``, i.e. Gamma(k, 1)), :func:`categorical` (inverse of the
  sequentially summed CDF), :func:`integers` (``min(floor(u n), n - 1)``) and :func:`geometric`
  (trials to the first success: ``1 + floor(log(u) / log(1 - p))``).

Layouts, so a reference can find each value's raw draws: every sampler takes ``prod(size) * m`` raw
draws in C order, ``m`` draws per variate (``m = 1``; ``nu + 1`` for :func:`student_t`, numerator
first; ``k`` for :func:`erlang`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

#: ln 2 split in two (fdlibm): ``_LN2_HI`` has its low 32 bits zero, so ``n * _LN2_HI`` is exact for
#: the exponents met here.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF = 0.70710678118654752440
#: Taylor coefficients 1/k! for k = 13 .. 0 (Horner order), correctly rounded.
_EXP_COEFFS: tuple[float, ...] = tuple(float(Fraction(1, math.factorial(k))) for k in range(13, -1, -1))
#: 1/(2j + 1) for j = 11 .. 0 (Horner order in s^2), correctly rounded.
_LOG_COEFFS: tuple[float, ...] = tuple(float(Fraction(1, 2 * j + 1)) for j in range(11, -1, -1))
#: 2^-53, the spacing of :func:`uniform`'s grid.
_TWO_M53 = math.ldexp(1.0, -53)
#: ``exp`` accepts |x| up to this (the results stay normal numbers).
EXP_LIMIT = 700.0

# AS 241 (Wichura 1988, PPND16) coefficients, highest degree first.
_A = (
    2509.0809287301226727,
    33430.575583588128105,
    67265.770927008700853,
    45921.953931549871457,
    13731.693765509461125,
    1971.5909503065514427,
    133.14166789178437745,
    3.387132872796366608,
)
_B = (
    5226.495278852545925,
    28729.085735721942674,
    39307.89580009271061,
    21213.794301586595867,
    5394.1960214247511077,
    687.1870074920579083,
    42.313330701600911252,
    1.0,
)
_C = (
    7.7454501427834140764e-4,
    0.0227238449892691845833,
    0.24178072517745061177,
    1.27045825245236838258,
    3.64784832476320460504,
    5.7694972214606914055,
    4.6303378461565452959,
    1.42343711074968357734,
)
_D = (
    1.05075007164441684324e-9,
    5.475938084995344946e-4,
    0.0151986665636164571966,
    0.14810397642748007459,
    0.68976733498510000455,
    1.6763848301838038494,
    2.05319162663775882187,
    1.0,
)
_E = (
    2.01033439929228813265e-7,
    2.71155556874348757815e-5,
    0.0012426609473880784386,
    0.026532189526576123093,
    0.29656057182850489123,
    1.7848265399172913358,
    5.4637849111641143699,
    6.6579046435011037772,
)
_F = (2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4,
      0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1.0)  # fmt: skip
#: Elements per block in :func:`ndtri` (bounds the temporaries at paper scale).
_BLOCK = 1 << 20


def _horner(x: np.ndarray, coeffs: Sequence[float]) -> np.ndarray:
    """``(((c0 x + c1) x + c2) ...) x + cn``, one rounding per operation."""
    p = np.full_like(x, coeffs[0])
    for c in coeffs[1:]:
        p = p * x + c
    return p


def exp(x: np.ndarray | float) -> np.ndarray:
    """``e^x`` elementwise for ``|x| <= EXP_LIMIT`` (see the module docstring for the formula)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size and not np.all(np.abs(x) <= EXP_LIMIT):
        raise ValueError(f"portable.exp: argument outside [-{EXP_LIMIT}, {EXP_LIMIT}]")
    n = np.rint(x * _INV_LN2)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    return np.ldexp(_horner(r, _EXP_COEFFS), n.astype(np.int32))


def log(x: np.ndarray | float) -> np.ndarray:
    """Natural logarithm elementwise for positive normal ``x`` (see the module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size and not np.all((x >= np.finfo(np.float64).tiny) & (x < np.inf)):
        raise ValueError("portable.log: argument must be a positive normal number")
    m, e = np.frexp(x)
    low = m < _SQRT_HALF
    m = np.where(low, m * 2.0, m)
    e = (e - low).astype(np.float64)
    f = m - 1.0
    s = f / (f + 2.0)
    log_m = (s * 2.0) * _horner(s * s, _LOG_COEFFS)
    return e * _LN2_HI + (e * _LN2_LO + log_m)


def _ratio(r: np.ndarray, num: Sequence[float], den: Sequence[float]) -> np.ndarray:
    return _horner(r, num) / _horner(r, den)


def ndtri(u: np.ndarray) -> np.ndarray:
    """The standard normal quantile ``Phi^-1(u)`` for ``u`` in (0, 1), AS 241:

    - ``|q| <= 0.425`` (``q = u - 1/2``): ``q A(r) / B(r)``, ``r = 0.180625 - q^2``;
    - else ``r = sqrt(-log(min(u, 1 - u)))``: ``C(r - 1.6) / D(r - 1.6)`` for ``r <= 5``, else
      ``E(r - 5) / F(r - 5)``, with the sign of ``q``.
    """
    u = np.asarray(u, dtype=np.float64)
    out = np.empty_like(u)
    flat_u, flat_out = u.reshape(-1), out.reshape(-1)
    for start in range(0, flat_u.size, _BLOCK):
        p = flat_u[start : start + _BLOCK]
        q = p - 0.5
        z = np.empty_like(p)
        central = np.abs(q) <= 0.425
        qc = q[central]
        rc = 0.180625 - qc * qc
        z[central] = (qc * _horner(rc, _A)) / _horner(rc, _B)
        tail = ~central
        qt, pt = q[tail], p[tail]
        r = np.sqrt(-log(np.minimum(pt, 1.0 - pt)))
        near = r <= 5.0
        zt = np.where(near, _ratio(r - 1.6, _C, _D), _ratio(r - 5.0, _E, _F))
        z[tail] = np.where(qt < 0.0, -zt, zt)
        flat_out[start : start + _BLOCK] = z
    return out


def _count(size: int | tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    shape = (size,) if isinstance(size, int) else tuple(size)
    return shape, math.prod(shape)


def uniform(bitgen: np.random.BitGenerator, size: int | tuple[int, ...]) -> np.ndarray:
    """Uniforms on (0, 1): ``(2k + 1) 2^-53`` with ``k = raw >> 12`` (exact; see the module docstring)."""
    shape, n = _count(size)
    odd = (np.asarray(bitgen.random_raw(n), dtype=np.uint64) >> np.uint64(11)) | np.uint64(1)  # 2k + 1 < 2^53
    return odd.view(np.int64).astype(np.float64).reshape(shape) * _TWO_M53


def standard_normal(bitgen: np.random.BitGenerator, size: int | tuple[int, ...]) -> np.ndarray:
    """N(0, 1) variates: ``ndtri(u)``, one raw draw each."""
    return ndtri(uniform(bitgen, size))


def student_t(bitgen: np.random.BitGenerator, dof: int, size: int | tuple[int, ...]) -> np.ndarray:
    """Student-t variates with integer ``dof`` degrees of freedom: ``z_0 / sqrt(chi2 / dof)`` with
    ``chi2 = z_1^2 + ... + z_dof^2`` summed in that order (``dof + 1`` normals per variate)."""
    if dof < 1:
        raise ValueError("portable.student_t: dof must be a positive integer")
    shape, _ = _count(size)
    z = standard_normal(bitgen, (*shape, dof + 1))
    chi2 = z[..., 1] * z[..., 1]
    for j in range(2, dof + 1):
        chi2 = chi2 + z[..., j] * z[..., j]
    return z[..., 0] / np.sqrt(chi2 / float(dof))


def erlang(bitgen: np.random.BitGenerator, shape_k: int, size: int | tuple[int, ...]) -> np.ndarray:
    """Gamma(``shape_k``, 1) variates for an integer shape: ``-(log u_1 + ... + log u_k)``."""
    if shape_k < 1:
        raise ValueError("portable.erlang: the shape must be a positive integer")
    shape, _ = _count(size)
    logs = log(uniform(bitgen, (*shape, shape_k)))
    total = logs[..., 0]
    for j in range(1, shape_k):
        total = total + logs[..., j]
    return -total


def cumulative(weights: Sequence[float]) -> np.ndarray:
    """The CDF of ``weights``: running sums in order, each divided by the total."""
    running, total = [], 0.0
    for w in weights:
        if not w >= 0.0:
            raise ValueError("portable.cumulative: weights must be non-negative")
        total = total + float(w)
        running.append(total)
    if not total > 0.0:
        raise ValueError("portable.cumulative: weights sum to zero")
    return np.asarray(running) / total


def categorical(bitgen: np.random.BitGenerator, weights: Sequence[float], size: int | tuple[int, ...]) -> np.ndarray:
    """Category indices drawn with probabilities proportional to ``weights``: the first ``i`` with
    ``u < cdf[i]`` (the last category when rounding leaves ``cdf[-1]`` below ``u``)."""
    cdf = cumulative(weights)
    idx = np.searchsorted(cdf, uniform(bitgen, size), side="right")
    return np.minimum(idx, cdf.size - 1).astype(np.int64)


def integers(bitgen: np.random.BitGenerator, n: int, size: int | tuple[int, ...]) -> np.ndarray:
    """Integers uniform on 0 .. n-1: ``min(floor(u n), n - 1)``."""
    return np.minimum(np.floor(uniform(bitgen, size) * float(n)), n - 1).astype(np.int64)


def geometric(bitgen: np.random.BitGenerator, p: float, size: int | tuple[int, ...]) -> np.ndarray:
    """Trials up to the first success (1, 2, ...), success probability ``p`` in (0, 1]:
    ``1 + floor(log(u) / log(1 - p))`` (always 1 when ``p == 1``)."""
    if not 0.0 < p <= 1.0:
        raise ValueError("portable.geometric: p must be in (0, 1]")
    u = uniform(bitgen, size)
    if p == 1.0:
        return np.ones(u.shape, dtype=np.int64)
    return (np.floor(log(u) / log(1.0 - p)) + 1.0).astype(np.int64)
