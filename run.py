"""Entry point: ``python run.py [group=option ...] [key=value ...]`` (add ``-m`` to sweep).

Composes ``conf/config.yaml`` and hands it to ``geomexp.experiment.run``.
"""

import os
import sys

import hydra
from omegaconf import DictConfig

import geomexp.config  # registers the config schema and resolvers
from geomexp.errors import Requeued, Terminated, print_one_line, raise_on_sigterm, termination_delivered


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    from geomexp.experiment import RunContext, run
    from geomexp.experiment.slurm import explain_stop
    from geomexp.experiment.sweep import report_job_failure, watch_sweep_process
    from geomexp.experiment.threads import limit_threads

    raise_on_sigterm()  # SIGTERM ends the run KILLED (with the reason), not RUNNING forever
    limit_threads()  # a job given fewer CPUs than the node has (SLURM, a container) runs as many threads
    context = RunContext.from_hydra()
    watcher = watch_sweep_process() if context.is_sweep_job else None  # a joblib worker stops with its sweep
    try:
        run(cfg, context)
    except Terminated as err:
        if watcher is not None:  # a worker process whose run is now closed KILLED: nothing left to do
            os._exit(143)
        if context.is_sweep_job and os.environ.get("SUBMITIT_EXECUTOR"):
            # a submitit job (scancel, a node going down): its run is closed KILLED; hand submitit a result
            # so the sweep collects the other jobs and ends non-zero naming this one (an exit with 143 left
            # no result file, and a cluster without accounting then never told the sweep the job was gone)
            termination_delivered()
            err = explain_stop(err)  # stopped before or after its run: requeued (or not) all the same
            if isinstance(err, Requeued):  # SLURM runs the job again: no result, so the sweep waits for the restart
                print(f"job requeued: {err}", file=sys.stderr, flush=True)
                os._exit(143)
            report_job_failure(context, err)
            return
        raise
    except Exception as err:
        if context.is_sweep_job:  # the other jobs go on; the sweep ends non-zero, naming this one
            report_job_failure(context, err)
        elif print_one_line(err):  # a user error, or the machine's (memory, a full or read-only disk)
            sys.exit(2)
        else:
            raise


if __name__ == "__main__":
    from geomexp.config.arguments import split_list_message

    if message := split_list_message(sys.argv[1:]):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    sys.argv[1:] = geomexp.config.rewrite_layer_overrides(sys.argv[1:])  # layer=8 -> layer.index=8
    try:
        main()
    except Terminated as err:
        termination_delivered()
        print(f"error: terminated ({err}); the run ended KILLED", file=sys.stderr)
        sys.exit(143)
