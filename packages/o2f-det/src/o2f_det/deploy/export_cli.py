"""The command line of ``tools/export_onnx.py`` (see that file's docstring)."""

from __future__ import annotations

import argparse
import sys

from . import onnx_export as ox

DESCRIPTION = 'Export an NMS-free o2f detector to ONNX and check it in onnxruntime.'


def build_parser() -> argparse.ArgumentParser:
    from o2f_core.cli import OneLineArgumentParser

    parser = OneLineArgumentParser(prog='tools/export_onnx.py', description=DESCRIPTION)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='ONNX file (default: CHECKPOINT with .onnx, or .raw.onnx)')
    parser.add_argument('--variant', choices=ox.VARIANTS, default='end2end',
                        help='end2end: boxes/scores/labels of the top max_det inside the graph; '
                        'raw: boxes (B, N, 4) and scores (B, N, C) of all points, no TopK')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help="tracing and check size (default: the config's image_size); the "
                        'graph takes any multiple of the pad divisor')
    parser.add_argument('--max-det', type=int, default=None,
                        help='detections per image (default: test_cfg.max_per_img)')
    parser.add_argument('--tolerance', type=float, default=1e-4)
    parser.add_argument('--opset', type=int, default=ox.DEFAULT_OPSET,
                        help="ONNX opset, within the installed torch.onnx exporter's range "
                        f'(default {ox.DEFAULT_OPSET})')
    parser.add_argument('--no-check', action='store_true', help='skip the runtime check')
    parser.add_argument('--allow-partial', action='store_true',
                        help='export even when the checkpoint does not cover the model '
                        '(prints what was not loaded); refused otherwise')
    return parser


def check_arguments(args: argparse.Namespace, out: str) -> None:
    """Refuse, before the model is built, the arguments that cannot give a correct file.

    Raises:
        ExportError: an opset outside the installed exporter's range, ``--max-det`` below 1, an
            output path that is a folder, under a file, or the config or checkpoint.
    """
    from o2f_core.io import UnsafeOutputError, check_output_path

    low, high = ox.supported_opsets()
    if not low <= args.opset <= high:
        raise ox.ExportError(f'--opset {args.opset} is outside [{low}, {high}], the range the '
                             'installed torch.onnx exporter writes; use e.g. '
                             f'--opset {ox.DEFAULT_OPSET}')
    if args.max_det is not None and args.max_det < 1:
        raise ox.ExportError(f'--max-det must be at least 1, got {args.max_det}')
    try:
        check_output_path(out, [args.config, args.checkpoint], '--out')
    except UnsafeOutputError as error:
        raise ox.ExportError(str(error)) from None


def main(argv=None) -> int:
    from o2f_core.cli import CliError

    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    except CliError as error:
        print(error, file=sys.stderr)
        return 2
    import os.path as osp

    from o2f_core.io import atomic_output, install_termination_handlers

    install_termination_handlers()  # SIGTERM removes the staged .onnx as Ctrl-C does
    out = args.out if args.out is not None else ox.default_out(args.checkpoint, args.variant)
    try:
        if not osp.isfile(args.checkpoint):
            raise ox.ExportError(f'checkpoint not found: {args.checkpoint}')
        check_arguments(args, out)
        cfg, detector = ox.load_detector(args.config, args.checkpoint, args.allow_partial)
        size = args.size or cfg.get('image_size')
        if size is None:
            raise ox.ExportError(f'{args.config} has no image_size: pass --size H W')
        divisor = int(cfg.model.data_preprocessor.get('pad_size_divisor', 1))
        if min(size) < divisor or size[0] % divisor or size[1] % divisor:
            raise ox.ExportError(f'--size {size[0]} {size[1]} must be multiples of the '
                                 f"config's pad_size_divisor={divisor}")
        head = detector.bbox_head
        test_cfg = head.test_cfg or {}
        max_det = (args.max_det if args.max_det is not None
                   else int(test_cfg.get('max_per_img', 100)))
        num_points = sum(-(-size[0] // s[1]) * -(-size[1] // s[0])
                         for s in head.prior_generator.strides)
        if not 1 <= max_det <= num_points * head.cls_out_channels:
            raise ox.ExportError(f'--max-det must lie in [1, points x classes], got {max_det}')
        # The graph becomes `out` only after the check: a failed check publishes nothing.
        with atomic_output(out, [args.config, args.checkpoint], '--out') as staged:
            ox.export(detector, tuple(size), staged, max_det, args.opset, args.variant)
            if not args.no_check:
                ox.check_and_report(detector, staged, tuple(size), divisor, max_det,
                                    float(test_cfg.get('score_thr', 0.0)), args.tolerance,
                                    args.variant)
        outputs = ('boxes (B, N, 4), scores (B, N, C) for all N points' if args.variant == 'raw'
                   else f'boxes, scores, labels of {max_det} detections')
        print(f'wrote {out} ({args.variant}: input image Bx3xHxW RGB 0-255, H and W multiples '
              f'of {divisor}; outputs {outputs}; no NMS op)')
        return 0
    except ox.ExportError as error:
        print(f'tools/export_onnx.py: error: {error}', file=sys.stderr)
        return 2
    except ox.CheckFailed as error:
        print(f'tools/export_onnx.py: error: {error}; {out} was not written', file=sys.stderr)
        return 1
