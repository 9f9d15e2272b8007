"""Shared machinery of the isotropy enhancers: the estimator base class, parameter checks, save/load.

Every enhancer follows scikit-learn's estimator shape:

- the constructor only stores its parameters (no work, no validation);
- ``fit(X)`` validates the parameters and ``X`` (N, d), learns, returns ``self``;
  learned attributes end in ``_`` (``n_features_in_``, ``n_features_out_``, ...);
- ``transform(X)`` maps any ``(M, d)`` array with the SAME d as the fit data,
  whatever M (fit on English, transform Swahili);
- ``fit_transform(X)`` is ``fit(X).transform(X)``.

Dtypes: input of any real float or integer dtype is accepted (checked by
``geomexp.validation.as_embeddings``). All arithmetic is in float64; the
result is float32 when the input of ``transform`` was float32, else float64
(float16 and integer input give float64).

Persistence: ``save(path)`` writes ONE ``.npz`` file holding the fitted arrays and
a JSON string (key ``__meta__``) with the class name, the constructor parameters
and the fitted scalars/lists; ``Class.load(path)`` or
``geomexp.enhancement.load_enhancer(path)`` reads it back (no pickle).
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from geomexp.errors import GeomexpError
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_magnitude

FORMAT_NAME = "geomexp.enhancer"
FORMAT_VERSION = 1
META_KEY = "__meta__"

# Every concrete enhancer class, by class name; filled by ``Enhancer.__init_subclass__``.
ENHANCER_CLASSES: dict[str, type[Enhancer]] = {}


class NotFittedError(GeomexpError, SklearnNotFittedError):
    """``transform`` (or ``save`` of fitted state) was called before ``fit``."""


class EnhancerFileError(GeomexpError, ValueError):
    """A file given to ``load`` is not a saved enhancer (or not of the expected class)."""


# --------------------------------------------------------------------------- faiss


@contextmanager
def faiss_threads(n_threads: int | None):
    """Run the block with faiss/OpenMP limited to ``n_threads`` threads (None: leave as is); restores after."""
    if n_threads is None:
        yield
        return
    import faiss

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(n_threads))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


# --------------------------------------------------------------------------- the estimator base class


def output_dtype(X) -> np.dtype:
    """float32 if ``X`` is a float32 array, else float64 (the documented output rule)."""
    return np.dtype(np.float32) if np.asarray(X).dtype == np.float32 else np.dtype(np.float64)


def _jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars turned into Python ones (for the JSON metadata)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _is_fitted_name(name: str) -> bool:
    """scikit-learn's convention for learned attributes: ``name_`` (not ``_private`` nor ``__dunder__``)."""
    return name.endswith("_") and not name.startswith("_") and name.isidentifier()


class Enhancer(TransformerMixin, BaseEstimator):
    """Base class of the isotropy enhancers (scikit-learn estimator shape; see the module docstring).

    Subclasses set ``name`` (the registry key) and implement ``_fit(X)`` and ``_transform(X)`` on
    float64 arrays, and declare their parameters' rules in ``_parameter_constraints`` (checked by
    ``_check_params()``, before any data) and ``_check_shape(n, d)`` (against the fit data's shape). What ``_fit`` learns goes in
    attributes whose names end in ``_`` (scikit-learn's convention): those are the fitted state that
    ``save`` writes (arrays as arrays, the rest as JSON values) and ``load`` restores.
    """

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        ENHANCER_CLASSES[cls.__name__] = cls

    # -- API -----------------------------------------------------------------------------

    def fit(self, X, y=None) -> Enhancer:
        """Learn the enhancement from ``X`` (N, d). ``y`` is ignored (scikit-learn compatibility). Returns self."""
        self._check_params()
        X = as_embeddings(X)
        check_magnitude(X, type(self).__name__)  # covariances of 1e200 overflow, of 1e-200 underflow
        self._check_shape(*X.shape)
        self._forget_fit()
        self.n_features_out_ = int(X.shape[1])  # _fit may change it (whitening with a cut)
        self._fit(X)
        self.n_features_in_ = int(X.shape[1])  # set last: marks the estimator as fitted
        return self

    def transform(self, X) -> np.ndarray:
        """Enhanced ``X`` (M, d) -> (M, n_features_out_); float32 if ``X`` is float32, else float64.

        M need not equal the number of fit rows. ``X`` is never modified.
        """
        dtype = output_dtype(X)
        return np.asarray(self._transform(self._check_input(X)), dtype=dtype)

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)

    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` has run (or fitted state was loaded)."""
        return hasattr(self, "n_features_in_")

    def check_params(self) -> Enhancer:
        """Validate the constructor parameters without any data (cheap); raise ConfigError. Returns self."""
        self._check_params()
        return self

    def check_shape(self, n_rows: int | None = None, n_dims: int | None = None) -> Enhancer:
        """Validate the parameters against the fit data's shape where it is known before the data is
        (``n_rows``: e.g. the sampled tokens; ``n_dims``: the model's width); raise ConfigError. Returns self."""
        self._check_params()
        self._check_shape(n_rows, n_dims)
        return self

    # -- hooks ---------------------------------------------------------------------------

    #: ``{parameter: check}`` (``geomexp.validation.integer(1)``, ``one_of(...)``, ...): each constructor
    #: parameter's rule, scikit-learn's convention; ``_check_params`` applies them
    _parameter_constraints: ClassVar[dict] = {}

    def _check_params(self) -> None:
        """Validate the constructor parameters alone (before touching X) against ``_parameter_constraints``;
        raise ConfigError. A subclass with rules that involve several parameters extends it."""
        for name, check in self._parameter_constraints.items():
            check(getattr(self, name), name)

    def _check_shape(self, n: int | None, d: int | None) -> None:
        """Validate the parameters against the fit data's rows ``n`` and dimensions ``d`` (None: not known
        yet); called by ``fit`` before heavy work, and by ``check_shape`` before any data."""

    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check_input(self, X) -> np.ndarray:
        """``X`` (M, d) as float64 after checking that the estimator is fitted and d matches the fit data."""
        self._check_is_fitted()
        X = as_embeddings(X, min_rows=1)
        check_magnitude(X, type(self).__name__)
        if X.shape[1] != self.n_features_in_:
            raise InvalidEmbeddingsError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                "features as input: transform needs the same d as fit"
            )
        return X

    def _fitted_attributes(self) -> list[str]:
        """Names of the fitted state: the instance's attributes ending in ``_`` (not ``_private``)."""
        return sorted(k for k in vars(self) if _is_fitted_name(k))

    def _forget_fit(self) -> None:
        """Drop the fitted state of an earlier fit (so a failed refit leaves the estimator unfitted)."""
        for k in self._fitted_attributes():
            self.__dict__.pop(k, None)

    def _check_is_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(X) (or load a saved one) before transform"
            )

    # -- persistence ---------------------------------------------------------------------

    def _state(self, skip: tuple[str, ...] = ()) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(fitted arrays, fitted JSON values) to save: every fitted attribute (``_fitted_attributes``) but
        ``skip`` (what a subclass saves in a form of its own, e.g. a ragged list of arrays stacked)."""
        arrays, values = {}, {}
        for k in self._fitted_attributes():
            if k in skip:
                continue
            value = getattr(self, k)
            if isinstance(value, np.ndarray):
                arrays[k] = value
                continue
            values[k] = _jsonable(value)
            try:
                json.dumps(values[k])
            except (TypeError, ValueError):
                raise GeomexpError(
                    f"{type(self).__name__}.{k} is a {type(value).__name__}, neither an array nor a JSON value: "
                    "fitted state that cannot be saved"
                ) from None
        return arrays, values

    def _set_state(self, arrays: dict[str, np.ndarray], values: dict[str, Any]) -> None:
        """Restore what ``_state`` returned (names that are not fitted attributes are refused)."""
        for k, value in {**arrays, **values}.items():
            if not _is_fitted_name(k):
                raise EnhancerFileError(f"a saved enhancer's state names {k!r}, not a fitted attribute (name_)")
            setattr(self, k, value)

    def save(self, path) -> Path:
        """Write the parameters and (if fitted) the fitted state to ONE ``.npz`` file at ``path``; return the path.

        The file holds the fitted arrays under their attribute names and, under
        ``__meta__``, a JSON string: ``{"format", "version", "class", "name",
        "params", "fitted", "values"}``. No pickle. The path is used as given
        (no ``.npz`` is appended).
        """
        path = Path(path)
        fitted = self.is_fitted
        arrays, values = self._state() if fitted else ({}, {})
        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "class": type(self).__name__,
            "name": self.name,
            "params": _jsonable(self.get_params(deep=False)),
            "fitted": fitted,
            "values": values,
        }
        if META_KEY in arrays:
            raise GeomexpError(f"fitted array name {META_KEY!r} is reserved")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            np.savez(fh, **{META_KEY: np.array(json.dumps(meta))}, **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path) -> Enhancer:
        """Read an enhancer written by ``save``. On a subclass, the file must hold that class."""
        meta, arrays = read_enhancer_file(path)
        target = ENHANCER_CLASSES.get(meta["class"])
        if target is None:
            raise EnhancerFileError(
                f"{path} holds an unknown enhancer class {meta['class']!r}; known: {sorted(ENHANCER_CLASSES)}"
            )
        if cls is not Enhancer and not issubclass(target, cls):
            raise EnhancerFileError(f"{path} holds a {meta['class']}, not a {cls.__name__}")
        obj = target(**meta["params"])
        if meta["fitted"]:
            obj._set_state(arrays, meta["values"])
        return obj


def read_enhancer_file(path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata dict, arrays dict) of a saved enhancer file, or a clear EnhancerFileError."""
    path = Path(path)
    if not path.is_file():
        raise EnhancerFileError(f"no saved enhancer at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001  (zip/format errors of every kind)
        raise EnhancerFileError(f"{path} is not a readable .npz file: {exc}") from exc
    if META_KEY not in arrays:
        raise EnhancerFileError(f"{path} is an .npz file but not a saved enhancer (no {META_KEY!r} entry)")
    meta = json.loads(str(arrays.pop(META_KEY)))
    if meta.get("format") != FORMAT_NAME or meta.get("version") != FORMAT_VERSION:
        raise EnhancerFileError(
            f"{path} has format {meta.get('format')!r} version {meta.get('version')!r}; "
            f"this geomexp reads {FORMAT_NAME!r} version {FORMAT_VERSION}"
        )
    return meta, arrays
