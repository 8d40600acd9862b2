#!/usr/bin/env python
"""Export an NMS-free o2f detector to ONNX, end to end, and check it in onnxruntime.

    python tools/export_onnx.py CONFIG CHECKPOINT [--out model.onnx] [--size H W]
                                [--max-det 100] [--tolerance 1e-4] [--no-check]

The graph takes ``image`` (B, 3, H, W) float32 RGB pixel values in [0, 255] at a fixed size
(H and W multiples of the config's ``pad_size_divisor``) and returns

* ``boxes`` (B, max_det, 4) float32 xyxy pixels, clipped to the image,
* ``scores`` (B, max_det) float32 joint scores ``sigmoid(cls) * sigmoid(ctr)``, descending,
* ``labels`` (B, max_det) int64 class indices.

Normalisation (the config's mean/std) and box decoding are inside the graph; there is no NMS
op: the best ``max_det`` (point, class) pairs of the image are the detections. Rows scoring
below the config's ``test_cfg.score_thr`` are padding (mmdet's predict drops them); every row
above it equals mmdet's NMS-free prediction.

The check (default on) runs the ONNX model in onnxruntime on a synthetic scene and compares it
with (a) the same graph in PyTorch and (b) the detector's own ``predict`` (rows above
``score_thr``); it fails (exit 1) if any box or score differs by more than ``--tolerance`` or a
label differs. The graph is written to a temporary file first and becomes ``--out`` only once the
check has passed: a failed check leaves no ``.onnx`` (an older file at ``--out`` stays as it was).
Bad input (an ``--opset`` outside the installed exporter's range, ``--max-det`` below 1, an
``--out`` that is a folder, under a file, or the config/checkpoint): one error line, exit 2, and
no output file.
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys

import numpy as np

DEFAULT_OPSET = 17
# The TorchScript exporter's range when torch does not say (torch.onnx._constants is private).
FALLBACK_OPSET_RANGE = (7, 20)


class ExportError(Exception):
    """A user error: printed as one line, exit code 2."""


class CheckFailed(Exception):
    """The onnxruntime check failed: the message says why; exit code 1, nothing published."""


def supported_opsets() -> tuple[int, int]:
    """(lowest, highest) opset the installed ``torch.onnx`` TorchScript exporter writes."""
    try:
        from torch.onnx import _constants
    except ImportError:
        return FALLBACK_OPSET_RANGE
    low = getattr(_constants, 'ONNX_MIN_OPSET', FALLBACK_OPSET_RANGE[0])
    high = getattr(_constants, 'ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET',
                   getattr(_constants, 'ONNX_MAX_OPSET', FALLBACK_OPSET_RANGE[1]))
    return int(low), int(high)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f'{self.prog}: error: {message} (see {self.prog} --help)\n')


def build_nms_free_module(detector, image_hw: tuple[int, int], max_det: int):
    """Wrap an mmdet FCOS-style detector with an O2F head as an export-friendly module.

    Args:
        detector: a built detector (``data_preprocessor``, ``extract_feat``, ``bbox_head``).
        image_hw (tuple[int, int]): the fixed input size.
        max_det (int): detections per image.

    Returns:
        torch.nn.Module: ``forward(image (B, 3, H, W) RGB 0-255) -> (boxes, scores, labels)``.
    """
    import torch
    from torch import nn

    head = detector.bbox_head
    preprocessor = detector.data_preprocessor
    height, width = image_hw

    class NMSFreeDetector(nn.Module):
        def __init__(self):
            super().__init__()
            self.detector = detector
            # RGB mean/std: the preprocessor's are in the order it sees after bgr_to_rgb.
            mean = preprocessor.mean.detach().clone().view(1, 3, 1, 1)
            std = preprocessor.std.detach().clone().view(1, 3, 1, 1)
            if not getattr(preprocessor, '_channel_conversion', False):
                raise ExportError('the config\'s data_preprocessor must set bgr_to_rgb=True '
                                  '(the exported graph takes RGB images)')
            self.register_buffer('mean', mean, persistent=False)
            self.register_buffer('std', std, persistent=False)
            with torch.no_grad():
                sizes = [(-(-height // s[1]), -(-width // s[0]))
                         for s in head.prior_generator.strides]
                points = head.prior_generator.grid_priors(sizes, dtype=torch.float32,
                                                          device=mean.device)
            self.register_buffer('points', torch.cat(points), persistent=False)  # (N, 2)
            self.max_det = max_det

        def forward(self, image):
            inputs = (image - self.mean) / self.std
            cls_scores, bbox_preds, centernesses = head(self.detector.extract_feat(inputs))
            batch = image.shape[0]

            def flatten(mlvl):  # each (B, K, H_i, W_i) -> (B, N, K), levels concatenated
                return torch.cat([level.permute(0, 2, 3, 1).reshape(batch, -1, level.shape[1])
                                  for level in mlvl], dim=1)

            joint = flatten(cls_scores).sigmoid() * flatten(centernesses).sigmoid()  # (B, N, C)
            distances = flatten(bbox_preds)  # pixels at test time (head in eval mode)
            points = self.points.unsqueeze(0)
            boxes = torch.cat([points - distances[..., :2], points + distances[..., 2:]], -1)
            limits = boxes.new_tensor([width, height, width, height])
            boxes = torch.minimum(boxes.clamp(min=0), limits)
            num_classes = joint.shape[-1]
            scores, flat_index = joint.flatten(1).topk(self.max_det, dim=1)  # (B, K)
            point_index = torch.div(flat_index, num_classes, rounding_mode='floor')
            labels = flat_index - point_index * num_classes
            boxes = torch.gather(boxes, 1, point_index.unsqueeze(-1).expand(-1, -1, 4))
            return boxes, scores, labels

    return NMSFreeDetector().eval()


def _load_detector(config: str, checkpoint: str | None, allow_partial: bool = False):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    from o2f_core.engine import CheckpointError, load_checkpoint_strict
    from o2f_det.cli_common import CliError, load_task_config

    try:
        cfg = load_task_config(config, 'det')
    except CliError as error:
        raise ExportError(str(error)) from None
    cfg.model.backbone.init_cfg = None
    init_default_scope(cfg.get('default_scope', 'mmdet'))  # the detector builds its parts in it
    detector = MODELS.build(cfg.model)
    head = detector.bbox_head
    if not hasattr(head, 'o2f_flatten'):
        raise ExportError(f'{config}: head {type(head).__name__} is one-to-many and needs NMS; '
                          'export an o2f config (O2FHead)')
    if checkpoint is not None:
        try:  # another model's weights are refused (an "OK" export of the wrong model)
            load_checkpoint_strict(detector, checkpoint, allow_partial)
        except CheckpointError as error:
            raise ExportError(str(error)) from None
    return cfg, detector.eval()


def export(detector, image_hw, out_path: str, max_det: int = 100,
           opset: int = DEFAULT_OPSET) -> None:
    """Write the NMS-free graph of ``detector`` to ``out_path`` (atomically).

    Raises:
        ExportError: the exporter cannot write this graph at ``opset``.
    """
    import warnings

    import torch

    from o2f_core.io import atomic_output

    module = build_nms_free_module(detector, image_hw, max_det)
    dummy = torch.zeros(1, 3, *image_hw)
    with atomic_output(out_path, what='--out') as tmp:
        # The TorchScript exporter: the dynamo one needs onnxscript, which we do not install.
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter('ignore')
            try:
                torch.onnx.export(module, (dummy,), tmp, dynamo=False, opset_version=opset,
                                  input_names=['image'],
                                  output_names=['boxes', 'scores', 'labels'],
                                  dynamic_axes={'image': {0: 'batch'}, 'boxes': {0: 'batch'},
                                                'scores': {0: 'batch'}, 'labels': {0: 'batch'}})
            except torch.onnx.errors.OnnxExporterError as error:
                reason = str(error).strip().splitlines()[0] if str(error).strip() else 'failed'
                raise ExportError(f'torch.onnx cannot export the graph at opset {opset} '
                                  f'({reason}); try --opset {DEFAULT_OPSET}') from None


def check(detector, onnx_path: str, image: np.ndarray, max_det: int, score_thr: float,
          tolerance: float = 1e-4) -> dict:
    """Compare onnxruntime with PyTorch on one RGB uint8 image (H, W, 3).

    Returns:
        dict: ``graph_max_abs`` (ONNX vs the same graph in PyTorch: boxes, scores),
        ``predict_max_abs`` (ONNX vs ``detector.predict`` on rows above ``score_thr``),
        ``labels_equal`` (bool), ``num_compared`` and ``ok`` (all within ``tolerance``).
    """
    import onnxruntime
    import torch
    from mmdet.structures import DetDataSample

    height, width = image.shape[:2]
    module = build_nms_free_module(detector, (height, width), max_det)
    rgb = torch.from_numpy(image).permute(2, 0, 1).float().unsqueeze(0)
    try:
        session = onnxruntime.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
        onnx_boxes, onnx_scores, onnx_labels = session.run(None, {'image': rgb.numpy()})
    except Exception as error:  # onnxruntime's own error types live in its compiled module
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckFailed(f'onnxruntime cannot run the exported graph ({reason})') from None
    with torch.no_grad():
        boxes, scores, labels = (t.numpy() for t in module(rgb))
        # mmdet's own path: BGR uint8 in, its preprocessor, NMS-free post-process.
        sample = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                             scale_factor=(1.0, 1.0)))
        bgr = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)
        data = detector.data_preprocessor(dict(inputs=[bgr], data_samples=[sample]), False)
        head = detector.bbox_head
        previous = head.test_cfg.get('with_nms', False)
        head.set_with_nms(False)
        try:
            pred = detector.predict(data['inputs'], data['data_samples'], rescale=False)[0]
        finally:
            head.set_with_nms(previous)
    pred = pred.pred_instances
    keep = onnx_scores[0] > score_thr
    count = min(int(keep.sum()), len(pred.scores))
    graph = max(float(np.abs(onnx_boxes - boxes).max()), float(np.abs(onnx_scores - scores).max()))
    predict = 0.0
    labels_equal = bool((onnx_labels == labels).all())
    if count:
        predict = max(float(np.abs(onnx_boxes[0, :count] - pred.bboxes[:count].numpy()).max()),
                      float(np.abs(onnx_scores[0, :count] - pred.scores[:count].numpy()).max()))
        labels_equal &= bool((onnx_labels[0, :count] == pred.labels[:count].numpy()).all())
    counts_equal = int(keep.sum()) == len(pred.scores) or len(pred.scores) == max_det
    return dict(graph_max_abs=graph, predict_max_abs=predict, labels_equal=labels_equal,
                num_compared=count, num_predicted=len(pred.scores),
                ok=bool(graph <= tolerance and predict <= tolerance and labels_equal
                        and counts_equal))


def main(argv=None) -> int:
    parser = _OneLineParser(prog='tools/export_onnx.py', description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='ONNX file (default: CHECKPOINT with .onnx)')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help="input size (default: the config's image_size)")
    parser.add_argument('--max-det', type=int, default=None,
                        help="detections per image (default: test_cfg.max_per_img)")
    parser.add_argument('--tolerance', type=float, default=1e-4)
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help='ONNX opset, within the installed torch.onnx exporter\'s range '
                        f'(default {DEFAULT_OPSET})')
    parser.add_argument('--no-check', action='store_true', help='skip the onnxruntime check')
    parser.add_argument('--allow-partial', action='store_true',
                        help='export even when the checkpoint does not cover the model '
                        '(prints what was not loaded); refused otherwise')
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from o2f_core.io import install_termination_handlers

    install_termination_handlers()  # SIGTERM removes the staged .onnx as Ctrl-C does
    out = args.out if args.out is not None else osp.splitext(args.checkpoint)[0] + '.onnx'
    try:
        if not osp.isfile(args.checkpoint):
            raise ExportError(f'checkpoint not found: {args.checkpoint}')
        check_arguments(args, out)
        cfg, detector = _load_detector(args.config, args.checkpoint, args.allow_partial)
        size = args.size or cfg.get('image_size')
        if size is None:
            raise ExportError(f'{args.config} has no image_size: pass --size H W')
        divisor = int(cfg.model.data_preprocessor.get('pad_size_divisor', 1))
        if min(size) < divisor or size[0] % divisor or size[1] % divisor:
            raise ExportError(f'--size {size[0]} {size[1]} must be multiples of the config\'s '
                              f'pad_size_divisor={divisor}')
        test_cfg = detector.bbox_head.test_cfg or {}
        max_det = (args.max_det if args.max_det is not None
                   else int(test_cfg.get('max_per_img', 100)))
        num_points = sum(-(-size[0] // s[1]) * -(-size[1] // s[0])
                         for s in detector.bbox_head.prior_generator.strides)
        if not 1 <= max_det <= num_points * detector.bbox_head.cls_out_channels:
            raise ExportError(f'--max-det must lie in [1, points x classes], got {max_det}')
        from o2f_core.io import atomic_output

        # The graph becomes `out` only after the check: a failed check publishes nothing.
        with atomic_output(out, [args.config, args.checkpoint], '--out') as staged:
            export(detector, tuple(size), staged, max_det, args.opset)
            if not args.no_check:
                check_and_report(detector, staged, tuple(size), max_det,
                                 float(test_cfg.get('score_thr', 0.0)), args.tolerance)
        print(f'wrote {out} (input image 1x3x{size[0]}x{size[1]} RGB 0-255; outputs boxes, '
              f'scores, labels; {max_det} detections, no NMS op)')
        return 0
    except ExportError as error:
        print(f'tools/export_onnx.py: error: {error}', file=sys.stderr)
        return 2
    except CheckFailed as error:
        print(f'tools/export_onnx.py: error: {error}; {out} was not written', file=sys.stderr)
        return 1


def check_arguments(args: argparse.Namespace, out: str) -> None:
    """Refuse, before the model is built, the arguments that cannot give a correct file.

    Raises:
        ExportError: an opset outside the installed exporter's range, ``--max-det`` below 1, an
            output path that is a folder, under a file, or the config or checkpoint.
    """
    from o2f_core.io import UnsafeOutputError, check_output_path

    low, high = supported_opsets()
    if not low <= args.opset <= high:
        raise ExportError(f'--opset {args.opset} is outside [{low}, {high}], the range the '
                          f'installed torch.onnx exporter writes; use e.g. --opset {DEFAULT_OPSET}')
    if args.max_det is not None and args.max_det < 1:
        raise ExportError(f'--max-det must be at least 1, got {args.max_det}')
    try:
        check_output_path(out, [args.config, args.checkpoint], '--out')
    except UnsafeOutputError as error:
        raise ExportError(str(error)) from None


def check_and_report(detector, onnx_path: str, size: tuple[int, int], max_det: int,
                     score_thr: float, tolerance: float) -> None:
    """Run :func:`check` on a synthetic scene and print its line.

    Raises:
        CheckFailed: onnxruntime cannot run the graph or differs beyond ``tolerance``.
    """
    from o2f_det.synthetic import generate_scene

    image = generate_scene(np.random.default_rng(0), size).image
    result = check(detector, onnx_path, image, max_det, score_thr, tolerance)
    print(f"onnxruntime vs PyTorch: graph max |diff| {result['graph_max_abs']:.2e}, "
          f"vs predict() max |diff| {result['predict_max_abs']:.2e} over "
          f"{result['num_compared']} detections, labels equal: {result['labels_equal']} "
          f"(tolerance {tolerance:g}): {'OK' if result['ok'] else 'FAILED'}")
    if not result['ok']:
        raise CheckFailed(f'the onnxruntime check failed (differences above --tolerance '
                          f'{tolerance:g} or unequal labels)')


if __name__ == '__main__':
    sys.exit(main())
