"""Encoders: any Hugging Face encoder (hub id or local folder) and the two packaged offline encoders.

``describe_encoder(spec)`` reads only the model's configuration (cheap: used to
validate the layer and build the cache key before any weights load);
``load_encoder(spec)`` loads tokenizer and weights.
"""

from geomexp.encoders.base import OFFLINE_MODELS, SOURCES, EncoderInfo, EncoderSpec
from geomexp.encoders.loading import Encoder, describe_encoder, load_encoder, resolve_device

__all__ = [
    "OFFLINE_MODELS",
    "SOURCES",
    "Encoder",
    "EncoderInfo",
    "EncoderSpec",
    "describe_encoder",
    "load_encoder",
    "resolve_device",
]
