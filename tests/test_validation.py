"""The one validation family (geomexp.validation): every message names the value and what is allowed."""

import numpy as np
import pytest

from geomexp.errors import ConfigError
from geomexp.validation import (
    InvalidEmbeddingsError,
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    check_positive_real,
    resolve_seed,
)


@pytest.mark.parametrize(
    "value, kwargs, message",
    [
        (0, {"minimum": 1}, "n must be a positive integer; got 0"),
        (2.5, {"minimum": 1}, "n must be a positive integer; got 2.5"),
        (True, {"minimum": 0}, "n must be an integer >= 0; got True"),
        (-1, {"minimum": 0, "allow_none": True}, "n must be an integer >= 0 or None; got -1"),
        (10, {"minimum": 0, "maximum": 9}, r"n must be an integer in 0\.\.9; got 10"),
    ],
)
def test_check_int_names_value_and_range(value, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        check_int(value, "n", **kwargs)


def test_checks_return_clean_values_and_take_the_error_class():
    assert check_int(np.int64(3), "n", minimum=1) == 3 and type(check_int(np.int64(3), "n", minimum=1)) is int
    assert check_int(None, "n", minimum=1, allow_none=True) is None
    assert check_float(np.float32(0.5), "eps", minimum=0.0) == 0.5
    assert check_choice("a", "mode", ("a", "b")) == "a"
    with pytest.raises(InvalidEmbeddingsError, match=r"mode must be one of \['a', 'b'\]; got 'c'"):
        check_choice("c", "mode", ("a", "b"), error=InvalidEmbeddingsError)
    # the metrics' shorthands raise InvalidEmbeddingsError
    with pytest.raises(InvalidEmbeddingsError, match="k must be a positive integer; got 0"):
        check_positive_int(0, "k")
    for bad in (0, -1.0, float("nan"), float("inf"), "3", True):
        with pytest.raises(InvalidEmbeddingsError, match="k_sigma must be a finite number > 0"):
            check_positive_real(bad, "k_sigma")
    with pytest.raises(ConfigError, match="eps must be a finite number >= 0.0; got -1.0"):
        check_float(-1.0, "eps", minimum=0.0)


def test_resolve_seed():
    assert resolve_seed(7) == 7
    assert 0 <= resolve_seed(None) < 2**31 - 1
    with pytest.raises(ConfigError, match=r"random_state must be an integer in 0\.\.2147483646; got -3"):
        resolve_seed(-3)
