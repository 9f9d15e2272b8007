"""User-facing errors: bad configuration, missing data, bad input arrays."""

from contextlib import contextmanager


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


class Requeued(Terminated):
    """The scheduler stopped this job to run it again (SLURM: preemption, ``scontrol requeue``, or a time limit
    with requeues left, ``hydra.launcher.max_num_timeout``). The run ends KILLED with the reason; the job's
    next start resumes that run (``geomexp.experiment.slurm``), so a combination keeps one run."""


class TimeLimitReached(GeomexpError):
    """A SLURM job reached its time limit with no requeue left; the message names the settings to raise."""


_termination = {"signal": None, "delivered": False, "closing": 0, "deferred": None}


def termination_delivered() -> None:
    """Called where ``Terminated`` is handled (the run is being closed): stop re-raising it."""
    _termination["delivered"] = True


@contextmanager
def sigterm_deferred():
    """While a run is being closed after another exception (a scheduler's ``SystemExit``, an error): a
    first SIGTERM is noted (``pop_deferred_sigterm()``), not raised, which would leave the run RUNNING."""
    _termination["closing"] += 1
    try:
        yield
    finally:
        _termination["closing"] -= 1


def pop_deferred_sigterm() -> str | None:
    """The signal noted inside ``sigterm_deferred()`` ("SIGTERM"), or None; forgets it."""
    noted, _termination["deferred"] = _termination["deferred"], None
    return noted


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
        if _termination["closing"] and not _termination["delivered"]:  # a run is being closed: note it
            _termination["deferred"] = signal.Signals(signum).name
            return
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


#: errno values that describe the machine's state (not a bug in geomexp), with the remedy to show
_MACHINE_ERRNOS = {
    "ENOSPC": "free disk space there or write elsewhere (paths.cache_dir=..., tracking.uri=..., hydra.run.dir=...)",
    "EDQUOT": "free disk space there or write elsewhere (paths.cache_dir=..., tracking.uri=..., hydra.run.dir=...)",
    "EROFS": "write elsewhere (paths.cache_dir=..., tracking.uri=..., hydra.run.dir=...)",
    "EACCES": "make it writable or write elsewhere (paths.cache_dir=..., tracking.uri=..., hydra.run.dir=...)",
}
#: SQLite's messages for a store that cannot be written (raised through SQLAlchemy and MLflow)
_SQLITE_MESSAGES = {
    "database or disk is full": "the tracking store's disk is full; free space or choose another tracking.uri",
    "attempt to write a readonly database": "the tracking store is read-only; make it writable or choose another tracking.uri",
    "disk I/O error": "the tracking store's disk failed to write (disk I/O error); check the disk or choose another tracking.uri",
}


def exception_chain(err: BaseException):
    """``err`` and the exceptions it was raised from or during (``__cause__``/``__context__``), outermost first."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def environment_failure(err: BaseException) -> str | None:
    """One line with the remedy if ``err`` (or an exception in its chain) is the machine's state rather
    than a bug: out of memory, a full, read-only or forbidden disk, a tracking store SQLite cannot write.
    None otherwise (a bug keeps its traceback)."""
    import errno

    for e in exception_chain(err):
        if isinstance(e, MemoryError):
            detail = str(e) or "MemoryError"
            return (
                f"out of memory ({detail}); measure fewer tokens (data.n_tokens=...), fewer layers "
                "(layer=...) or a smaller batch (model.batch_size=...), or free memory"
            )
        if isinstance(e, OSError) and e.errno is not None:
            name = errno.errorcode.get(e.errno)
            if name in _MACHINE_ERRNOS:
                where = f": {e.filename}" if e.filename else ""
                return f"{e.strerror or name}{where}; {_MACHINE_ERRNOS[name]}"
        text = str(e)
        for needle, line in _SQLITE_MESSAGES.items():
            if needle in text:
                return line
    return None


def one_line(err: BaseException) -> str | None:
    """What a command prints for ``err`` instead of a traceback: the message of a ``GeomexpError``, or the
    ``environment_failure`` line; None for anything else (a bug: its traceback is shown)."""
    return str(err) if isinstance(err, GeomexpError) else environment_failure(err)


def print_one_line(err: BaseException) -> bool:
    """Print ``error: <one_line(err)>`` on stderr and return True; False (nothing printed) for a bug, which
    the caller re-raises. The entry points (``run.py``, reproduce, report) end with status 2 after it."""
    import sys

    line = one_line(err)
    if line is None:
        return False
    print(f"error: {line}", file=sys.stderr)
    return True
