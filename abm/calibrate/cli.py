"""`abm calibrate CALIBRATION.yaml [--trials N] [--workers N] [--scheduler ADDR] [--out DIR] [--quick]
[--seeds N] [--apply]` (registered by abm.cli)."""
from __future__ import annotations

import sys
from pathlib import Path

EXIT_INTERRUPTED = 130


def add_calibrate_command(commands) -> None:
    from ..sweep.cli import _positive, add_dask_options

    calibrate = commands.add_parser(
        "calibrate", help="fit the calibrated parameters to their targets (optuna, on Dask), on fresh seeds",
        description="Ask batches of trials from a seeded optuna sampler, run each trial's study arms over the "
                    "calibration seeds in parallel, tell the read-outs back; running it again continues.")
    calibrate.add_argument("calibration", help="calibration file (configs/calibration.yaml)")
    calibrate.add_argument("--trials", type=_positive, help="trials in all (default: the file's trials)")
    add_dask_options(calibrate)
    calibrate.add_argument("--out", metavar="DIR", help="output folder (default runs/calibrate/<name>[-quick])")
    calibrate.add_argument("--quick", action="store_true", help="few seeds and the file's small quick overrides (CI)")
    calibrate.add_argument("--seeds", type=_positive, help="use the first N of the file's calibration seeds")
    calibrate.add_argument("--apply", action="store_true",
                           help="write the best values into the parameter set (value and calibrated.seeds lines only)")


def run_calibration(calibration, folder: Path, trials: int, workers=None, scheduler=None, client=None, log=print):
    """Run (or continue) the calibration in `folder` to `trials` trials; KeyboardInterrupt passes through."""
    from ..sweep.driver import sweep_lock
    from ..sweep.engine import open_client, task_resources, with_cli_options
    from .driver import calibrate_on, check_folder

    check_folder(folder)
    log_as = lambda message: log(message.replace("abm: sweep:", "abm calibrate:"))  # noqa: E731 - the engine's lines
    engine = with_cli_options(calibration.spec.engine, workers=workers, scheduler=scheduler)
    runs_per_batch = len(calibration.arms()) * len(calibration.seeds) * calibration.spec.batch_size
    with sweep_lock(folder):
        if client is not None:
            calibrate_on(client, calibration, folder, trials, task_resources(engine), log)
        else:
            with open_client(engine, runs_per_batch, retries=calibration.spec.retries, log=log_as) as own:
                calibrate_on(own, calibration, folder, trials, task_resources(engine), log)


def calibrate_command(args) -> int:
    from ..errors import ConfigError
    from ..sweep.cli import _interrupt_on_signals
    from .apply import apply_best
    from .outputs import seeds_text, write_outputs
    from .spec import load_calibration

    if args.apply and args.quick:
        raise ConfigError("--apply: a --quick calibration fits reduced scenarios (quick.overrides); its values are "
                          "not the model's and are not written into the parameter set")
    calibration = load_calibration(args.calibration, quick=args.quick, seeds=args.seeds)
    name = calibration.spec.name + ("-quick" if args.quick else "")
    folder = Path(args.out or Path("runs") / "calibrate" / name)
    trials = args.trials or calibration.spec.trials
    command = "abm calibrate " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 else "abm calibrate"
    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    interrupted = False
    try:
        with _interrupt_on_signals():
            run_calibration(calibration, folder, trials, workers=args.workers, scheduler=args.scheduler, log=log)
    except KeyboardInterrupt:
        interrupted = True
    best = write_outputs(calibration, folder, command)
    log(f"abm calibrate: wrote {folder}/trials.csv, best.yaml, report.md")
    if interrupted:
        log("abm calibrate: interrupted; run the same command again to continue")
        return EXIT_INTERRUPTED
    if args.apply and best:
        provenance = (f"abm calibrate {calibration.path}, seeds {seeds_text(calibration.seeds)}, "
                      f"{best['trials']} trials, {best['date']} (best trial {best['trial']}, "
                      f"objective {best['objective']:.3g})")
        apply_best(calibration.parameter_set, best["parameters"], provenance)
        log(f"abm calibrate: applied the best values to {calibration.parameter_set}")
    return 0


CALIBRATE_HANDLERS = {"calibrate": calibrate_command}
