"""One family of input checks: arrays (``as_embeddings``) and parameters (``check_*``, ``resolve_seed``).

Every check returns the cleaned value or raises an error whose message names the
parameter, the bad value and what is allowed (``"n_clusters must be a positive
integer; got 0"``). Parameter checks raise ``error``: ``ConfigError`` by
default (a configuration value is wrong); the metric functions pass
``InvalidEmbeddingsError`` (their shorthands ``check_positive_int`` and
``check_positive_real`` do so by default), so that a metric reports every bad
input, array or parameter, as one error type. Both are ``ValueError``s.
"""

from __future__ import annotations

import math

import numpy as np

from geomexp.errors import ConfigError, GeomexpError


class InvalidEmbeddingsError(GeomexpError, ValueError):
    """The array (or a parameter) given to a metric is not usable, e.g. not an ``(N, d)`` matrix."""


class InvalidEmbeddingsTypeError(InvalidEmbeddingsError, TypeError):
    """The array holds things that are not numbers (an object array of strings, dicts, ...)."""


# --------------------------------------------------------------------------- arrays


def as_embeddings(X, *, name: str = "X", min_rows: int = 2, nonzero_rows: bool = False) -> np.ndarray:
    """Return ``X`` as a C-contiguous float64 ``(N, d)`` array, or raise a clear error.

    Rejects non-2-D input, non-numeric dtypes, fewer than ``min_rows`` rows, zero
    columns, NaN/inf entries and (with ``nonzero_rows``) all-zero rows, whose cosine
    is undefined. Integer and float16/float32 input is converted to float64.
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise InvalidEmbeddingsError(
            f"{name} is a sparse matrix ({type(X).__name__}); sparse input is not supported: pass X.toarray()"
        )
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InvalidEmbeddingsError(
            f"{name} must be a 2-D array of shape (N, d); got shape {arr.shape} "
            "(Reshape your data: X.reshape(1, -1) for one vector, X.reshape(-1, 1) for one dimension)"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidEmbeddingsError(
            f"{name} must hold real numbers; got dtype {arr.dtype} (Complex data not supported)"
        )
    if arr.dtype == object:
        try:  # numbers held in an object array (e.g. from a DataFrame) are read as numbers
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidEmbeddingsTypeError(
                f"{name} must hold real numbers; got dtype object holding others (argument must be a string or a "
                "real number)"
            ) from None
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InvalidEmbeddingsError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    n, d = arr.shape
    if n < min_rows:
        raise InvalidEmbeddingsError(f"{name} needs at least {min_rows} rows (vectors); got {n} (n_samples={n})")
    if d < 1:
        raise InvalidEmbeddingsError(
            f"{name} needs at least 1 column (dimension); got 0 feature(s) (shape={arr.shape}) while a minimum "
            "of 1 is required."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise InvalidEmbeddingsError(f"{name} has {bad.size} row(s) with NaN or inf values (first: row {bad[0]})")
    if nonzero_rows:
        zero = ~arr.any(axis=1)
        if zero.any():
            bad = np.flatnonzero(zero)
            raise InvalidEmbeddingsError(
                f"{name} has {bad.size} all-zero row(s) (first: row {bad[0]}); their cosine is undefined"
            )
    return arr


#: the magnitudes (largest |x|) at which sums of squares of an (N, d) matrix stay normal float64
#: numbers: outside it a scale-invariant computation is run on an exactly rescaled copy
SAFE_MAGNITUDE = (1e-100, 1e100)


def magnitude(W: np.ndarray) -> float:
    """The largest absolute value of ``W`` (0.0 for an empty or all-zero array)."""
    return float(np.abs(W).max()) if W.size else 0.0


def binary_exponent(W: np.ndarray) -> int:
    """The ``e`` with ``max|W| * 2**-e`` in [0.5, 1) (0 for an empty or all-zero array)."""
    m = magnitude(W)
    return int(np.frexp(m)[1]) if m else 0


def exactly_rescaled(W: np.ndarray) -> np.ndarray:
    """``W`` itself if its magnitude is within ``SAFE_MAGNITUDE`` (or zero); else ``W`` times the power of
    two that brings its largest |x| into [0.5, 1): exact (only exponents change), so results that do
    not depend on scale (directions, cosines, IsoScore, z-scores) are unchanged, and squares neither
    overflow (|x| ~ 1e200) nor underflow (|x| ~ 1e-200)."""
    m = magnitude(W)
    if m == 0 or SAFE_MAGNITUDE[0] <= m <= SAFE_MAGNITUDE[1]:
        return W
    return np.ldexp(W, -binary_exponent(W))


def check_magnitude(W: np.ndarray, who: str, low: float = SAFE_MAGNITUDE[0], high: float = SAFE_MAGNITUDE[1]) -> None:
    """``InvalidEmbeddingsError`` unless the largest |x| of ``W`` is 0 or within ``[low, high]``:
    for computations that are not scale-invariant and would overflow or underflow (covariances)."""
    m = magnitude(W)
    if m != 0 and not low <= m <= high:
        raise InvalidEmbeddingsError(
            f"{who}: X's largest |value| is {m:.3g}, outside [{low:g}, {high:g}] where its squares "
            f"{'overflow' if m > high else 'underflow'}; rescale X (e.g. X / np.abs(X).max())"
        )


def check_same_rows(X, Y, names: tuple[str, str] = ("X", "Y")) -> None:
    """``InvalidEmbeddingsError`` unless two 2-D arrays (a measure's two representations of the same items)
    have as many rows; other shapes pass (``as_embeddings`` says what is wrong with them)."""
    a, b = np.shape(X), np.shape(Y)
    if len(a) == len(b) == 2 and a[0] != b[0]:
        raise InvalidEmbeddingsError(
            f"{names[0]} and {names[1]} must describe the same items (the same number of rows); got {a[0]} and {b[0]}"
        )


# --------------------------------------------------------------------------- parameters


def _integers(minimum: int, maximum: int | None) -> str:
    """What ``check_int`` allows, in words: 'a positive integer', 'an integer >= 0', 'an integer in 0..9'."""
    if maximum is not None:
        return f"an integer in {minimum}..{maximum}"
    return "a positive integer" if minimum == 1 else f"an integer >= {minimum}"


def check_int(
    value, name: str, *, minimum: int, maximum: int | None = None, allow_none: bool = False, error=ConfigError
) -> int | None:
    """``value`` as an int in ``minimum..maximum`` (None passes if ``allow_none``); else ``error``.

    bool and non-integral numbers (2.5, 2.0) are refused.
    """
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        allowed = _integers(minimum, maximum) + (" or None" if allow_none else "")
        raise error(f"{name} must be {allowed}; got {value!r}")
    return int(value)


def check_positive_int(value, name: str, *, error=InvalidEmbeddingsError) -> int:
    """``check_int(value, name, minimum=1)`` raising ``InvalidEmbeddingsError`` (the metrics' shorthand)."""
    return check_int(value, name, minimum=1, error=error)


def check_float(value, name: str, *, minimum: float, exclusive: bool = False, error=ConfigError) -> float:
    """``value`` as a finite float ``>= minimum`` (``> minimum`` if ``exclusive``); else ``error``."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        number = float(value)
        ok = math.isfinite(number) and (number > minimum if exclusive else number >= minimum)
    if not ok:
        raise error(f"{name} must be a finite number {'>' if exclusive else '>='} {minimum}; got {value!r}")
    return number


def check_positive_real(value, name: str, *, error=InvalidEmbeddingsError) -> float:
    """``check_float(value, name, minimum=0, exclusive=True)`` raising ``InvalidEmbeddingsError`` (the metrics' shorthand)."""
    return check_float(value, name, minimum=0, exclusive=True, error=error)


def check_choice(value, name: str, choices, *, error=ConfigError):
    """``value`` if it is one of ``choices`` (any container of allowed values), else ``error`` listing them."""
    if value not in choices:
        raise error(f"{name} must be one of {list(choices)}; got {value!r}")
    return value


def check_n_components(n_components, d: int, n_rows: int | None = None) -> int:
    """The number of directions to remove, ``0 <= D < d`` (and ``D <= n_rows - 1`` if given); else ConfigError."""
    D = check_int(n_components, "n_components", minimum=0)
    if d <= D:
        raise ConfigError(
            f"n_components={D} must be smaller than the number of dimensions d={d} (n_features={d}: "
            f"removing all {d} directions leaves nothing); allowed: 0..{d - 1}"
        )
    if n_rows is not None and n_rows - 1 < D:
        raise ConfigError(
            f"n_components={D} needs at least {D + 1} rows: {n_rows} centred rows span at most "
            f"{n_rows - 1} directions; allowed: 0..{n_rows - 1}"
        )
    return D


def resolve_seed(random_state) -> int:
    """A concrete seed in ``[0, 2**31 - 1)`` from ``random_state`` (int, or None for a fresh random seed)."""
    if random_state is None:
        return int(np.random.default_rng().integers(0, 2**31 - 1))
    return check_int(random_state, "random_state", minimum=0, maximum=2**31 - 2)


# -- declared constraints: a parameter's rule, stated once beside its owner ---------------------
# Each maker returns ``check(value, name) -> value`` (the value normalised, e.g. numpy ints to int)
# raising ``ConfigError`` that names the parameter, what it allows and what it got. Analyses declare
# them in ``@analysis(params=...)``, enhancers in ``_parameter_constraints``.


def integer(minimum: int, maximum: int | None = None, *, allow_none: bool = False):
    """An integer in ``minimum..maximum`` (bool and 2.0 refused), or None if ``allow_none``."""

    def check(value, name: str):
        return check_int(value, name, minimum=minimum, maximum=maximum, allow_none=allow_none)

    return check


def number(minimum: float, *, exclusive: bool = False, below: float | None = None, allow_none: bool = False):
    """A finite number ``>= minimum`` (``>`` if ``exclusive``) and, if given, ``< below``; or None if ``allow_none``."""

    def check(value, name: str):
        if value is None and allow_none:
            return None
        x = check_float(value, name, minimum=minimum, exclusive=exclusive)
        if below is not None and not x < below:
            low = "(" if exclusive else "["
            raise ConfigError(f"{name} must be in {low}{minimum:g}, {below:g}); got {value!r}")
        return x

    return check


def one_of(*choices, means: str = ""):
    """One of ``choices``; ``means`` (what each choice does) is added to the message."""

    def check(value, name: str):
        try:
            return check_choice(value, name, choices)
        except ConfigError as err:
            raise ConfigError(f"{err} ({means})" if means else str(err)) from None

    return check


def matches(pattern: str, allowed: str):
    """A string matching the regular expression ``pattern`` whole; ``allowed`` says what in words."""
    import re

    compiled = re.compile(pattern)

    def check(value, name: str):
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ConfigError(f"{name} must be {allowed}; got {value!r}")
        return value

    return check


def integer_list(minimum: int, *, at_least: int = 1, distinct: bool = False, allow_none: bool = False, example=""):
    """A list of ``at_least`` or more integers ``>= minimum`` (``distinct``: no repeats), or None if ``allow_none``."""

    def check(value, name: str):
        if value is None and allow_none:
            return None
        values = list(value) if isinstance(value, (list, tuple)) else None
        ok = values is not None and len(values) >= at_least and (not distinct or len(set(values)) == len(values))
        ok = ok and all(not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= minimum for v in values)
        if not ok:
            what = f"{'two' if at_least == 2 else at_least} or more{' distinct' if distinct else ''} integers"
            raise ConfigError(
                f"{name} must list {what} >= {minimum}{', e.g. ' + example if example else ''}"
                f"{' (or be null)' if allow_none else ''}; got {value!r}"
            )
        return [int(v) for v in values]

    return check


def flag():
    """true or false (not 0/1, not a string)."""

    def check(value, name: str):
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"{name} must be true or false; got {value!r}")
        return bool(value)

    return check


def text(*, allow_empty: bool = False):
    """A string (non-empty unless ``allow_empty``)."""

    def check(value, name: str):
        if not isinstance(value, str) or (not value.strip() and not allow_empty):
            raise ConfigError(f"{name} must be a {'' if allow_empty else 'non-empty '}string; got {value!r}")
        return value

    return check


def check_declared(constraints: dict, values: dict, prefix: str) -> dict:
    """``values`` with each key that ``constraints`` declares checked (and normalised); ``prefix`` + key names
    it in a message (``"analysis.isotropy."``). Keys without a constraint pass unchanged."""
    return {k: (constraints[k](v, prefix + k) if k in constraints else v) for k, v in values.items()}
