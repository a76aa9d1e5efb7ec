"""``tradeloop optimize``: a walk-forward optimisation study with its overfitting statistics."""

from __future__ import annotations

import argparse
import math
from typing import Any

from rich.table import Table

from tradeloop.cli.common import console, parse_date_ms, progress_bar, settings_from
from tradeloop.domain.errors import ConfigError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.domain.timeframes import Timeframe


def register(groups: Any) -> None:
    p = groups.add_parser("optimize", help="optimise a rule strategy's parameters (optuna, "
                                           "walk-forward, deflated Sharpe and PBO)")
    p.add_argument("--strategy", help="a rule strategy of the library")
    p.add_argument("--symbol")
    p.add_argument("--timeframe")
    p.add_argument("--from", dest="start", help="YYYY-MM-DD (UTC)")
    p.add_argument("--to", dest="end", help="YYYY-MM-DD (UTC), exclusive")
    p.add_argument("--trials", type=int, default=200, help="trials the study holds at the end")
    p.add_argument("--sampler", default="nsga2", choices=("nsga2", "tpe", "random"),
                   help="nsga2 is the genetic algorithm (default)")
    p.add_argument("--objective", default="sharpe",
                   choices=("sharpe", "sortino", "calmar", "profit"))
    p.add_argument("--min-trades", type=int, default=30,
                   help="a trial with fewer trades in-sample is pruned")
    p.add_argument("--folds", type=int, default=4, help="walk-forward folds")
    p.add_argument("--jobs", type=int, default=1, help="trials at once (worker processes or "
                                                      "Ray tasks)")
    p.add_argument("--executor", choices=("process", "ray"), default="process",
                   help="where trials run: worker processes here, or Ray (a local one, or "
                        "continuous_learning.executor.ray_address)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", default=None, metavar="STUDY",
                   help="continue a stored study (its own settings)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log the study to MLflow")
    p.set_defaults(func=optimize)


def optimize(args: argparse.Namespace) -> int:
    from tradeloop.app.optimisation import StudySpec, log_study_to_mlflow, run_study

    settings = settings_from(args)
    if args.trials < 1 or args.jobs < 1 or args.folds < 1:
        raise ConfigError("--trials, --jobs and --folds must be at least 1")
    spec = None
    if args.resume is None:
        missing = [f"--{n}" for n, v in (("strategy", args.strategy), ("symbol", args.symbol),
                                          ("timeframe", args.timeframe), ("from", args.start),
                                          ("to", args.end)) if v is None]
        if missing:
            raise ConfigError(f"optimize needs {', '.join(missing)} (or --resume STUDY)")
        spec = StudySpec(args.strategy, parse_symbol(args.symbol),
                         Timeframe.parse(args.timeframe).name, parse_date_ms(args.start),
                         parse_date_ms(args.end), args.objective, args.sampler,
                         args.min_trades, args.folds, args.seed)
    with progress_bar(count=True) as bar:
        task = bar.add_task("trials", total=args.trials)

        def progress(done: int, total: int, best: float | None) -> None:
            shown = "—" if best is None else f"{best:.3f}"
            bar.update(task, completed=done, total=total,
                       description=f"trials (best {args.objective} {shown})")

        report = run_study(settings, spec, args.trials, jobs=args.jobs, resume=args.resume,
                           executor=args.executor,
                           progress=progress)
    _print(report)
    if not args.no_mlflow:
        run_id = log_study_to_mlflow(settings, report)
        console.print(f"MLflow: experiment 'optimisation', run {run_id} (one nested run per "
                      f"trial)")
    return 130 if report.interrupted else 0


def _f(v: float | None, digits: int = 3) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _print(r: Any) -> None:
    s = r.spec
    head = "interrupted: what finished is kept; " if r.interrupted else ""
    console.print(f"{head}study [bold]{r.name}[/]: {s.strategy} on {s.symbol} {s.timeframe}, "
                  f"{r.trials} trials ({r.completed} completed, {r.pruned} pruned, "
                  f"{r.failed} failed) in {r.seconds:.1f} s, sampler {s.sampler}, objective "
                  f"{s.objective}")
    if r.best_number is None:
        console.print("no trial completed: nothing to choose (see --min-trades)")
        return
    console.print(f"best trial #{r.best_number}: {s.objective} {_f(r.best_value)} on the "
                  f"search window; parameters {r.best_params}")
    table = Table(title="walk-forward: chosen in-sample, scored on the next fold",
                  title_justify="left")
    for col in ("fold", "in-sample days", "out-of-sample days", "chosen trial",
                f"in-sample {s.objective}", f"out-of-sample {s.objective}",
                "out-of-sample median (all trials)"):
        table.add_column(col, justify="right")
    for f in r.folds:
        table.add_row(str(f.fold), str(f.in_sample_days), str(f.out_sample_days),
                      f"#{f.chosen}", _f(f.in_sample), _f(f.out_sample),
                      _f(f.out_sample_median))
    console.print(table)
    if r.deflated is not None:
        d = r.deflated
        verdict = "significant" if d.significant else "NOT significant: luck explains it"
        console.print(f"deflated Sharpe ratio: P(true Sharpe > 0 | {d.trials} trials) = "
                      f"{d.probability:.3f} ({verdict}); daily Sharpe {d.sharpe:.4f} vs the "
                      f"best-of-{d.trials} benchmark {d.benchmark:.4f}")
    if r.overfitting is not None:
        o = r.overfitting
        console.print(f"probability of backtest overfitting (CSCV, {o.blocks} blocks, "
                      f"{o.splits:,} splits): {o.pbo:.2f}")
    console.print(f"export the best: tradeloop strategy export {s.strategy} --study {r.name} "
                  f"--symbol {s.symbol} --timeframe {s.timeframe} --to strategy.json")
