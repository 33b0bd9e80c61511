"""Small statistics written out (no SciPy import on the measurement path)."""

from __future__ import annotations

import math

import numpy as np

_MAD_TO_STD = 1.4826
_IQR_TO_STD = 1.349


def ks_p_value(statistic: float, n1: int, n2: int) -> float:
    """Asymptotic two-sided p-value of the two-sample Kolmogorov-Smirnov statistic
    (the Kolmogorov distribution with Stephens' small-sample correction)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    effective = math.sqrt(n1 * n2 / (n1 + n2))
    lam = (effective + 0.12 + 0.11 / effective) * statistic
    if lam < 0.2:
        return 1.0
    total = 0.0
    for k in range(1, 101):
        term = 2.0 * (-1) ** (k - 1) * math.exp(-2.0 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
    return min(1.0, max(0.0, total))


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for a chi-square variable with ``dof`` degrees of freedom: the
    regularised upper incomplete gamma Q(dof/2, statistic/2)."""
    if dof <= 0:
        return 1.0
    if statistic <= 0:
        return 1.0
    a, x = dof / 2.0, statistic / 2.0
    log_prefix = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:  # series for the lower function P
        term = total = 1.0 / a
        n = a
        for _ in range(1000):
            n += 1.0
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-14:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    b = x + 1.0 - a  # Lentz's continued fraction for Q
    c = 1.0 / 1e-300
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-14:
            break
    return min(1.0, math.exp(log_prefix) * h)


def robust_center_scale(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the median, and the MAD (as a standard deviation), else the IQR; 0 where
    both are 0 (a column that is mostly one value has no robust scale)."""
    exact = not np.isnan(sample).any()
    median = np.median if exact else np.nanmedian
    percentile = np.percentile if exact else np.nanpercentile
    center = median(sample, axis=0)
    mad = median(np.abs(sample - center), axis=0) * _MAD_TO_STD
    q1, q3 = percentile(sample, [25, 75], axis=0)
    iqr = (q3 - q1) / _IQR_TO_STD
    scale = np.where(mad > 0, mad, iqr)
    return center, np.where(np.isfinite(scale), scale, 0.0)
