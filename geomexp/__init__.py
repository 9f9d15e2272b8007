"""geomexp: experiments on the geometry of contextual embedding spaces.

The library is usable without Hydra: ``geomexp.metrics`` holds pure functions
on ``(N, d)`` NumPy arrays, ``geomexp.encoders`` loads models, and
``geomexp.extraction`` turns sentences into token representations.
"""

__version__ = "0.1.0"
