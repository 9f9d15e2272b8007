"""A real one-node SLURM cluster on loopback, for the slow tests (issue 27): munged, slurmctld and slurmd
started from a configuration written under a temporary folder, stopped by PID at the end.

Nothing is installed here: it expects Debian's ``slurm-wlm`` and ``munge`` (``.ci/run`` installs them with
apt-get); ``missing()`` says which programs are absent, and the tests skip with that line. The cluster:
one node (this host at 127.0.0.1, its CPUs, most of its memory), one partition ``debug``, process
tracking by ``linuxproc``, no accounting database (submitit's ``sacct`` calls then fail; geomexp's
launcher summarises that in one line). Client commands (``sbatch``, ``squeue``, ``scancel``, ``scontrol``)
find it through ``SLURM_CONF`` (``env()``).

Run by hand: ``python tests/slurm_cluster.py`` starts one, prints its ``SLURM_CONF`` and waits (Ctrl-C stops it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo")


def missing() -> list[str]:
    """The programs of ``PROGRAMS`` not on PATH (nor in /usr/sbin)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [p for p in PROGRAMS if shutil.which(p, path=path) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 4096


class OneNodeCluster:
    """``start()`` the daemons under ``folder``; ``env()`` for clients; ``stop()``; ``node`` is its name.
    ``cpus``: the CPUs the node offers (default the machine's; more lets more jobs run at once)."""

    def __init__(self, folder: Path, cpus: int | None = None):
        self.folder = Path(folder)
        self.cpus = cpus or os.cpu_count() or 2
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.folder / "slurm.conf"
        self.procs: list[subprocess.Popen] = []
        self.munge_socket = self.folder / "munge" / "munge.socket.2"

    def _path(self, name: str) -> str:
        return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def _write(self) -> None:
        f = self.folder
        for sub in ("munge", "state", "spool", "log"):
            (f / sub).mkdir(parents=True, exist_ok=True)
            os.chmod(f / sub, 0o700)
        key = f / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        memory = max(1024, int(_memory_mb() * 0.8))
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=geomexp-test",
                    f"SlurmctldHost={self.node}(127.0.0.1)",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    f"StateSaveLocation={f / 'state'}",
                    f"SlurmdSpoolDir={f / 'spool'}",
                    f"SlurmctldPidFile={f / 'slurmctld.pid'}",
                    f"SlurmdPidFile={f / 'slurmd.pid'}",
                    f"SlurmctldLogFile={f / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={f / 'log' / 'slurmd.log'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core",
                    "SchedulerType=sched/backfill",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "JobCompType=jobcomp/none",
                    "SlurmctldTimeout=30",
                    "SlurmdTimeout=30",
                    "InactiveLimit=0",
                    "KillWait=5",
                    "MinJobAge=300",
                    "SchedulerParameters=sched_interval=1",
                    "SlurmdParameters=config_overrides",  # the node's CPUs as configured (may exceed the cores)
                    f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory} State=UNKNOWN",
                    "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO",
                    "",
                ]
            )
        )

    def start(self, timeout: float = 60.0) -> OneNodeCluster:
        self._write()
        f = self.folder
        log = open(f / "log" / "daemons.out", "ab")  # noqa: SIM115  (closed with the processes)
        self.procs.append(
            subprocess.Popen(
                [
                    self._path("munged"),
                    "--foreground",
                    "--force",
                    f"--key-file={f / 'munge' / 'munge.key'}",
                    f"--socket={self.munge_socket}",
                    f"--pid-file={f / 'munge' / 'munged.pid'}",
                    f"--log-file={f / 'log' / 'munged.log'}",
                    f"--seed-file={f / 'munge' / 'munged.seed'}",
                ],
                stdout=log,
                stderr=log,
            )
        )
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged's socket")
        env = {**os.environ, **self.env()}
        self.procs.append(
            subprocess.Popen(
                [self._path("slurmctld"), "-D", "-i", "-f", str(self.conf)], stdout=log, stderr=log, env=env
            )
        )
        self.procs.append(
            subprocess.Popen(
                [self._path("slurmd"), "-D", "-f", str(self.conf), "-N", self.node], stdout=log, stderr=log, env=env
            )
        )
        self._wait(lambda: self.node_state() == "idle", timeout, "the node to be idle")
        return self

    def node_state(self) -> str:
        out = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%T"], env={**os.environ, **self.env()}, capture_output=True, text=True
        )
        return out.stdout.strip().rstrip("*") if out.returncode == 0 else ""

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.3)
        self.stop()
        logs = "\n".join(p.read_text()[-1500:] for p in (self.folder / "log").glob("*") if p.is_file())
        raise RuntimeError(f"the one-node SLURM cluster did not come up ({what}):\n{logs}")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


if __name__ == "__main__":
    import tempfile

    cluster = OneNodeCluster(Path(tempfile.mkdtemp(prefix="slurm-"))).start()
    print(f"export SLURM_CONF={cluster.conf}   # node {cluster.node}, {cluster.cpus} CPUs; Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        cluster.stop()
