"""The ``aelab`` command: train the reference models, build the assignment, grade submissions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _reference(args: argparse.Namespace) -> int:
    from aelab.reference import run_reference

    metrics = run_reference(args.out, args.ae_epochs, args.vae_epochs, args.seed, args.device)
    print(json.dumps(metrics["test_mse"], indent=2))
    print(f"Figures and metrics.json written to {args.out}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from aelab.build import BuildError, build_assignment

    try:
        report = build_assignment(args.out)
    except BuildError as error:
        print(f"Build failed: {error}", file=sys.stderr)
        return 1
    print(f"Student notebook: {report.student_notebook}")
    print(f"Autograder:       {report.autograder_zip}")
    print(
        f"Reference solution scores {report.solution_score:g}/{report.possible:g}; "
        f"blank notebook scores {report.blank_score:g}. Built in {report.seconds:.0f} s."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface, one sub-command per job."""
    parser = argparse.ArgumentParser(prog="aelab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser(
        "build", help="regenerate the student notebook and autograder from the master notebook"
    )
    build.add_argument("--out", type=Path, default=Path("autograder"))
    build.set_defaults(run=_build)

    reference = commands.add_parser(
        "reference", help="train the reference AE and VAE; write figures and metrics.json"
    )
    reference.add_argument("--out", type=Path, default=Path("out/reference"))
    reference.add_argument("--ae-epochs", type=int, default=100)
    reference.add_argument("--vae-epochs", type=int, default=100)
    reference.add_argument("--seed", type=int, default=0)
    reference.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    reference.set_defaults(run=_reference)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``aelab`` console script."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
