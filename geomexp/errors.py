"""User-facing errors: bad configuration, missing data, bad input arrays."""


class GeomexpError(Exception):
    """An error caused by the user's input, shown as one clear line (no traceback)."""


class ConfigError(GeomexpError, ValueError):
    """A configuration value is wrong; the message names the value and what is allowed."""


class DataNotFoundError(GeomexpError, FileNotFoundError):
    """A corpus, data root or cached file is missing; the message says how to get it."""


class ModelUnavailableError(GeomexpError, OSError):
    """A model cannot be loaded (e.g. a hub id without network)."""


class PackageFileMissingError(ModelUnavailableError, FileNotFoundError):
    """A file that an installed package should carry (offline model weights, tokenizer) is missing."""


class Terminated(BaseException):
    """The process received SIGTERM (a BaseException, like KeyboardInterrupt: no ``except Exception`` swallows it).

    The run in progress ends KILLED with the reason in its ``error`` tag.
    """


_termination = {"signal": None, "delivered": False}


def termination_delivered() -> None:
    """Called where ``Terminated`` is handled (the run is being closed): stop re-raising it."""
    _termination["delivered"] = True


def raise_on_sigterm(retry: float = 2.0) -> None:
    """Turn SIGTERM into ``Terminated`` in this process (so runs end KILLED, not RUNNING forever).

    An exception raised from a signal handler can be swallowed (it may land in a ``__del__`` or
    a weakref callback, which only print it), so until ``termination_delivered()`` is called a
    watchdog thread raises it again every ``retry`` seconds. Only the main thread may set signal
    handlers; elsewhere this does nothing.
    """
    import os
    import signal
    import threading
    import time

    if threading.current_thread() is not threading.main_thread():
        return

    def again():
        while not _termination["delivered"]:
            time.sleep(retry)
            if not _termination["delivered"]:
                os.kill(os.getpid(), signal.SIGTERM)

    def handler(signum, frame):
        if _termination["delivered"]:  # asked again while closing the run: stop now
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if _termination["signal"] is None:
            _termination["signal"] = signal.Signals(signum).name
            threading.Thread(target=again, name="geomexp-sigterm", daemon=True).start()
        raise Terminated(f"received {_termination['signal']}")

    signal.signal(signal.SIGTERM, handler)


class DataError(GeomexpError, ValueError):
    """A data file exists but cannot be read as what it should be (not UTF-8 text, binary)."""
