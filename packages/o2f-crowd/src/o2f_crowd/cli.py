"""Evaluate CrowdHuman full-body detections: AP, mMR, Recall and JI (community reference rules).

Files::

    python tools/eval_crowd.py --gt annotation_val.odgt --dt results.odgt [--json metrics.json]

A model (runs the config's test set, writes the detections to ``--dt``, then evaluates them; the
gt defaults to the config's test annotation file)::

    python tools/eval_crowd.py --config CFG --checkpoint CKPT --dt results.odgt [--json M.json]

Detections are odgt lines ``{"ID", "dtboxes": [{"box": [x, y, w, h], "score": s, "tag": 1}]}``
or one JSON list of such records (mmdet's ``CrowdHumanMetric`` result file from ``format_only`` /
``outfile_prefix``, and ``O2FCrowdHumanMetric``'s); a gt image without a detection record is an
image without detections (the count is printed; it needs no size then). The
JSON holds ``AP``, ``mMR``, ``Recall``, ``JI`` as fractions in [0, 1], plus the JI threshold and
counts. Bad input prints one line ``error: <file>:<line>: <what>; <how to fix>`` and exits with
code 2, leaving no output file. The file mode needs only numpy and scipy (``o2f_crowd.evaluation``).

This is the code of ``tools/eval_crowd.py`` (also ``python -m o2f_crowd.cli``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from o2f_core.cli import CliError, OneLineArgumentParser
from o2f_crowd.evaluation import OdgtFormatError, evaluate, load_gt_and_dt


class UsageError(CliError):
    """A command-line mistake, printed as one line ``error: ...`` with exit code 2."""


def build_parser() -> OneLineArgumentParser:
    """The command line; a bad argument raises ``CliError`` (printed as ``error: ...``)."""
    parser = OneLineArgumentParser(
        prog="tools/eval_crowd.py", error_template="{message} (see {prog} --help)",
        description="CrowdHuman full-body evaluation: AP, mMR, Recall and JI.")
    parser.add_argument("--gt", help="ground-truth .odgt (e.g. annotation_val.odgt); with --config "
                        "it defaults to the config's test annotation file")
    parser.add_argument("--dt", required=True, help="detections .odgt (or mmdet's .json result "
                        "list) to evaluate; with --config the file the detections are written to")
    parser.add_argument("--json", help="also write the metrics to this JSON file (never one of "
                        "the inputs)")
    parser.add_argument("--config", help="model config: run inference on its test set first")
    parser.add_argument("--checkpoint", help="model weights for --config")
    parser.add_argument("--cfg-options", nargs="+", metavar="KEY=VALUE", default=None,
                        help="override config keys in --config mode")
    parser.add_argument("--workers", type=int, choices=(1, 2), default=2,
                        help="processes reading the two files: 2 parses the gt and the "
                        "detections side by side, 1 one after the other (same numbers)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="with --config: use a checkpoint that does not cover the model "
                        "(prints what was not loaded); refused otherwise")
    return parser


def format_report(metrics: dict, gt_path: str, dt_path: str) -> str:
    """The table printed to stdout."""
    lines = [
        f"gt: {gt_path}: {metrics['num_images']} images, {metrics['num_persons']} persons, "
        f"{metrics['num_ignore_regions']} ignore regions, "
        f"{metrics['num_images_without_gt_boxes']} images without gt boxes",
        f"dt: {dt_path}: {metrics['num_detections']} detections; "
        f"{metrics['num_images_without_dt_record']} gt images without a detection record, "
        f"{metrics['num_images_without_detections']} without detections (record or not)",
        f"matching at IoU > 0.5: {metrics['num_tp']} TP, {metrics['num_fp']} FP, "
        f"{metrics['num_dropped']} dropped in ignore regions",
        "",
        "| metric | value  |",
        "|--------|--------|",
    ]
    for name in ("AP", "mMR", "Recall", "JI"):
        lines.append(f"| {name:<6} | {metrics[name]:.4f} |")
    lines.append(f"(fractions; JI's best score threshold: > {metrics['JI_threshold']:.1f})")
    return "\n".join(lines)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before anything runs, an output that is a folder or the same file as an input.

    ``--json`` must not be any input (``--gt``, ``--dt``, ``--config``, ``--checkpoint``); in model
    mode ``--dt`` is an output too and must not be ``--gt``, the config or the checkpoint (the
    config's own gt file is checked by ``detect_to_odgt`` before inference).
    """
    if args.json is None and not args.config:
        return
    # Lazy: o2f_core's package imports torch; evaluating files without --json must not need it.
    from o2f_core.io import UnsafeOutputError, check_output_path

    model_inputs = [args.gt, args.config, args.checkpoint]
    try:
        if args.config:
            check_output_path(args.dt, model_inputs, "--dt")
        if args.json is not None:
            check_output_path(args.json, [*model_inputs, args.dt], "--json")
    except UnsafeOutputError as error:
        raise UsageError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    gt_path = args.gt
    if args.config or args.checkpoint:
        if not (args.config and args.checkpoint):
            raise UsageError("--config and --checkpoint go together")
        check_outputs(args)
        # Lazy: the file mode must work without torch/mmdet installed.
        from o2f_crowd.inference import InferenceError, detect_to_odgt

        other_outputs = {} if args.json is None else {"--json": args.json}
        try:
            gt_from_config = detect_to_odgt(args.config, args.checkpoint, args.dt,
                                            cfg_options=args.cfg_options,
                                            other_outputs=other_outputs,
                                            allow_partial=args.allow_partial)
        except InferenceError as error:
            raise UsageError(str(error)) from None
        gt_path = gt_path or gt_from_config
    elif args.cfg_options or args.allow_partial:
        raise UsageError("--cfg-options and --allow-partial need --config")
    else:
        check_outputs(args)
    if not gt_path:
        raise UsageError("the following argument is required: --gt")

    metrics = evaluate(*load_gt_and_dt(gt_path, args.dt, args.workers))
    print(format_report(metrics, gt_path, args.dt))
    if args.json is not None:
        from o2f_core.io import UnsafeOutputError, atomic_write

        payload = {"gt": os.path.abspath(gt_path), "dt": os.path.abspath(args.dt), **metrics}
        try:
            atomic_write(args.json, json.dumps(payload, indent=2) + "\n",
                         inputs=[gt_path, args.dt, args.config, args.checkpoint], what="--json")
        except UnsafeOutputError as error:
            raise UsageError(str(error)) from None
        except OSError as error:
            raise UsageError(f"cannot write {args.json}: {error.strerror}") from None
        print(f"metrics written to {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from o2f_core.io import install_termination_handlers

    install_termination_handlers()  # SIGTERM removes a temporary output as Ctrl-C does
    try:
        return run(build_parser().parse_args(argv))
    except OdgtFormatError as error:
        print(f"error: {error}", file=sys.stderr)
    except CliError as error:  # UsageError and the parser's errors
        print(f"error: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # python -m o2f_crowd.cli (the demo runs it in a child process)
    sys.exit(main())
