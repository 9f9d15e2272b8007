"""geomexp: experiments on the geometry of contextual embedding spaces.

The library is usable without Hydra:

- ``geomexp.metrics``: pure functions on ``(N, d)`` NumPy arrays (I_Cos, I_PC, IsoScore, outlier
  dimensions, intrinsic dimension, CKA, ...);
- ``geomexp.enhancement``: the isotropy enhancers (scikit-learn estimators: center, abtt, whiten, cluster);
- ``geomexp.analyses``: one layer's analyses (metrics, tables, figures) as functions;
- ``geomexp.encoders`` loads models, ``geomexp.representations.extraction`` turns sentences into token representations;
- ``geomexp.measure(spec)`` runs a whole configured measurement and returns a ``Measurement`` (no
  tracking store), ``geomexp.run(cfg)`` measures and logs it to MLflow, ``geomexp.compose([...])``
  composes a config as ``run.py`` would.

Those three are loaded on first use (``import geomexp`` stays light).
"""

__version__ = "0.1.0"

_LAZY = {
    "measure": ("geomexp.experiment", "measure"),
    "run": ("geomexp.experiment", "run"),
    "Measurement": ("geomexp.experiment", "Measurement"),
    "compose": ("geomexp.config", "compose"),
}
__all__ = ["Measurement", "compose", "measure", "run", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'geomexp' has no attribute {name!r}")
