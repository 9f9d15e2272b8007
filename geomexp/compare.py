"""How two measurements of one metric compare: the tolerance each kind of number deserves.

Two runs of the same measurement agree to the last bit only on bit-equal inputs. Across CPU
kinds the float32 encoder kernels round differently, so the hidden states (and everything
computed from them) differ in their last float32 bits. What "equal" then means is per metric,
read from its ``MetricInfo`` (``geomexp.analyses.base``):

- ``value`` / ``bound``: ``|a - b| <= rtol * max(|a|, |b|) + atol + spread``, where ``atol`` is
  the metric's absolute noise floor (values that are ~0 by construction: a relative tolerance is
  meaningless there) and ``spread`` the measured instability of the value (``spread_key``, e.g.
  ``i_pc_spread``: I_PC after whitening is not well defined); a log-scale metric (I_PC) is
  compared in log: ``|log a - log b| <= rtol + spread``;
- ``index`` / ``count``: equal, and only compared on bit-equal inputs (a last-bit change can move a
  point across a threshold or a near-tie);
- ``p_value``: as a value;
- a value whose own ``spread`` exceeds ``NOT_WELL_DEFINED`` (on either side) is not well defined:
  it moves by more than 1 % with arbitrary choices (the eigenvectors of a degenerate spectrum) and
  is not compared at all (the spread itself included: it is a random-rotation estimate).

``SAME_INPUTS_RTOL`` is for float64 math on the same stored inputs (any machine: BLAS kernels
differ at ~1e-15); ``CROSS_MACHINE_RTOL`` for whole runs on another CPU kind. Measured on the 14
golden cases under three kernel paths of one AMD EPYC (native AVX-512; torch ``ATEN_CPU_CAPABILITY=
avx2`` with OpenBLAS ``Haswell``; torch ``default`` with OpenBLAS ``Sandybridge``), pairwise: beyond
each metric's ``atol`` and spread, no value differed by more than 1.9e-6 relative; 1e-4 leaves a
factor 50 for CPU kinds not tried.
"""

from __future__ import annotations

import math

from geomexp.analyses.base import MetricInfo
from geomexp.analyses.keys import companion_key
from geomexp.metrics.isotropy import I_PC_UNSTABLE

#: a spread (``MetricInfo.spread_key``) above this marks a value as not well defined
NOT_WELL_DEFINED = I_PC_UNSTABLE

SAME_INPUTS_RTOL = 1e-10
#: absolute floor of float64 math on the same stored inputs (values that are ~0 by construction)
SAME_INPUTS_ATOL = 1e-13
CROSS_MACHINE_RTOL = 1e-4


def agree(
    info: MetricInfo | None,
    a: float,
    b: float,
    *,
    rtol: float,
    same_inputs: bool,
    spread: float = 0.0,
    atol: float | None = None,
) -> bool:
    """Whether ``a`` and ``b`` (two measurements of the metric ``info``) are the same number up to the
    tolerance its kind deserves (module docstring). ``info`` None: a plain value. NaN equals NaN.
    ``spread``: the larger of the two measurements' own instability figures (``info.spread_key``).
    ``atol``: an absolute floor instead of the metric's own (float64 math on stored inputs: ~1e-13)."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if info is not None and info.discrete:
        return a == b if same_inputs else True
    spread = float(spread) if spread and math.isfinite(spread) else 0.0
    if spread > NOT_WELL_DEFINED:
        return True
    if atol is None:
        atol = info.atol if info is not None else 0.0
    if info is not None and info.log_scale and a > 0 and b > 0:
        return abs(math.log(a) - math.log(b)) <= rtol + spread + atol
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + atol + spread


def compared(info: MetricInfo | None, same_inputs: bool) -> bool:
    """Whether the metric is compared at all (an index or count only on bit-equal inputs)."""
    return same_inputs or info is None or not info.discrete


def within_noise(info: MetricInfo | None, key: str, values: dict) -> float | None:
    """The standard error of ``values[key]`` (the metric's ``se_key`` in the same space, e.g.
    ``i_cos_se/cluster`` for ``i_cos/cluster``) when the value lies within 2 standard errors of 0 —
    below its own sampling noise, so it is shown as ``value ± se`` — else None."""
    if info is None or not info.se_key or key not in values:
        return None
    se = values.get(companion_key(key, info.se_key))
    if se is None or not math.isfinite(se) or se <= 0:
        return None
    return float(se) if abs(values[key]) < 2 * se else None
