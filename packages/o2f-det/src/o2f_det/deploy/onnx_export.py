"""ONNX export of NMS-free o2f detectors: one graph for every image size, two output variants.

Both variants take ``image`` (B, 3, H, W) float32 RGB pixel values in [0, 255]; B, H and W are
dynamic (H and W multiples of the config's ``pad_size_divisor``). Normalisation, the points of
every level (computed from the feature-map shapes, so no size is baked in) and box decoding are
inside the graph. There is no NMS op.

* ``end2end``: ``boxes`` (B, max_det, 4) xyxy pixels clipped to the image, ``scores``
  (B, max_det) joint scores ``sigmoid(cls) * sigmoid(ctr)`` descending, ``labels`` (B, max_det)
  int64: the best ``max_det`` (point, class) pairs (:func:`nms_free_topk`, K a constant).
  Rows below ``test_cfg.score_thr`` are padding (mmdet's predict drops them).
* ``raw``: ``boxes`` (B, N, 4) for all N points and ``scores`` (B, N, C) joint scores; no TopK
  and no data-dependent op (for runtimes without TopK: OpenCV DNN, NCNN, RKNN). The caller takes
  the top-k (:func:`topk_numpy`).
"""

from __future__ import annotations

import os.path as osp
import warnings

import numpy as np
import torch
from torch import Tensor, nn

from ..models.nms_free_topk import nms_free_topk

DEFAULT_OPSET = 17
# The TorchScript exporter's range when torch does not say (torch.onnx._constants is private).
FALLBACK_OPSET_RANGE = (7, 20)
VARIANTS = ('end2end', 'raw')
OUTPUT_NAMES = {'end2end': ['boxes', 'scores', 'labels'], 'raw': ['boxes', 'scores']}


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


def _flatten_levels(mlvl: list[Tensor]) -> Tensor:
    """Each (B, K, H_i, W_i) -> (B, H_i * W_i, K), levels concatenated: (B, N, K)."""
    return torch.cat([level.permute(0, 2, 3, 1).reshape(level.shape[0], -1, level.shape[1])
                      for level in mlvl], dim=1)


def _level_points(features: list[Tensor], strides, offset: float) -> Tensor:
    """(N, 2) xy points of every level, from the feature-map shapes (so dynamic in H and W).

    Same order and values as mmdet's ``MlvlPointGenerator.grid_priors``: rows of x, top to bottom.
    """
    points = []
    for feature, stride in zip(features, strides, strict=True):
        height, width = feature.shape[2], feature.shape[3]
        xs = (torch.arange(width, dtype=torch.float32) + offset) * float(stride[0])
        ys = (torch.arange(height, dtype=torch.float32) + offset) * float(stride[1])
        grid_x = xs.view(1, -1).expand(height, width)
        grid_y = ys.view(-1, 1).expand(height, width)
        points.append(torch.stack([grid_x, grid_y], dim=-1).reshape(-1, 2))
    return torch.cat(points)


class DenseDetector(nn.Module):
    """image (B, 3, H, W) RGB 0-255 -> decoded boxes (B, N, 4) and joint scores (B, N, C).

    Works for every FCOS-style head (``forward`` -> class logits, ltrb pixel distances,
    centerness logits): the o2f heads and the FCOS baseline share it.
    """

    def __init__(self, detector: nn.Module):
        super().__init__()
        preprocessor = detector.data_preprocessor
        if not getattr(preprocessor, '_channel_conversion', False):
            raise ExportError("the config's data_preprocessor must set bgr_to_rgb=True "
                              '(the exported graph takes RGB images)')
        self.detector = detector
        # RGB mean/std: the preprocessor's are in the order it sees after bgr_to_rgb.
        self.register_buffer('mean', preprocessor.mean.detach().clone().view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', preprocessor.std.detach().clone().view(1, 3, 1, 1),
                             persistent=False)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor]:
        head = self.detector.bbox_head
        features = self.detector.extract_feat((image - self.mean) / self.std)
        cls_scores, bbox_preds, centernesses = head(features)
        joint = _flatten_levels(cls_scores).sigmoid() * _flatten_levels(centernesses).sigmoid()
        distances = _flatten_levels(bbox_preds)  # pixels at test time (head in eval mode)
        points = _level_points(cls_scores, head.prior_generator.strides,
                               head.prior_generator.offset).to(image.device).unsqueeze(0)
        boxes = torch.cat([points - distances[..., :2], points + distances[..., 2:]], -1)
        height = torch.tensor(image.shape[2], dtype=torch.float32)
        width = torch.tensor(image.shape[3], dtype=torch.float32)
        limits = torch.stack([width, height, width, height]).to(image.device)
        return torch.minimum(boxes.clamp(min=0), limits), joint


class End2EndDetector(nn.Module):
    """image -> ``boxes`` (B, K, 4), ``scores`` (B, K), ``labels`` (B, K): the K best pairs."""

    def __init__(self, detector: nn.Module, max_det: int):
        super().__init__()
        self.dense = DenseDetector(detector)
        self.max_det = int(max_det)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        boxes, joint = self.dense(image)
        scores, point_index, labels = nms_free_topk(joint, self.max_det)
        boxes = torch.gather(boxes, 1, point_index.unsqueeze(-1).expand(-1, -1, 4))
        return boxes, scores, labels


def build_export_module(detector: nn.Module, variant: str = 'end2end',
                        max_det: int = 100) -> nn.Module:
    """The export-friendly module of ``variant`` ('end2end' or 'raw'), in eval mode."""
    if variant not in VARIANTS:
        raise ExportError(f'unknown --variant {variant!r}; choose one of {", ".join(VARIANTS)}')
    module = End2EndDetector(detector, max_det) if variant == 'end2end' else DenseDetector(detector)
    return module.eval()


def topk_numpy(boxes: np.ndarray, scores: np.ndarray, k: int):
    """The caller's top-k on the ``raw`` outputs of one image: boxes (N, 4), scores (N, C).

    Returns:
        tuple: ``boxes`` (k, 4), ``scores`` (k,) descending, ``labels`` (k,) int64.
    """
    flat = scores.reshape(-1)
    index = np.argpartition(-flat, k - 1)[:k]
    index = index[np.argsort(-flat[index], kind='stable')]
    points, labels = np.divmod(index, scores.shape[1])
    return boxes[points], flat[index], labels.astype(np.int64)


def load_detector(config: str, checkpoint: str | None, allow_partial: bool = False,
                  require_o2f: bool = True, task: str = 'det'):
    """Build the config's detector (backbone init off) and load ``checkpoint`` strictly.

    Raises:
        ExportError: unreadable config, a one-to-many head (``require_o2f``), wrong checkpoint.
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    from o2f_core.cli import CliError, load_task_config
    from o2f_core.engine import CheckpointError, load_checkpoint_strict

    try:
        cfg = load_task_config(config, task)
    except CliError as error:
        raise ExportError(str(error)) from None
    cfg.model.backbone.init_cfg = None
    init_default_scope(cfg.get('default_scope', 'mmdet'))  # the detector builds its parts in it
    detector = MODELS.build(cfg.model)
    head = detector.bbox_head
    if require_o2f and not hasattr(head, 'o2f_flatten'):
        raise ExportError(f'{config}: head {type(head).__name__} is one-to-many and needs NMS; '
                          'export an o2f config (O2FHead / POTOHead)')
    if checkpoint is not None:
        try:  # another model's weights are refused (an "OK" export of the wrong model)
            load_checkpoint_strict(detector, checkpoint, allow_partial)
        except CheckpointError as error:
            raise ExportError(str(error)) from None
    return cfg, detector.eval()


def export_module(module: nn.Module, sample: Tensor, out_path: str, output_names: list[str],
                  opset: int = DEFAULT_OPSET, dynamic_size: bool = True) -> None:
    """Trace ``module`` on ``sample`` into ``out_path`` (batch, and H/W if ``dynamic_size``).

    Raises:
        ExportError: the exporter cannot write this graph at ``opset``.
    """
    image_axes = {0: 'batch', 2: 'height', 3: 'width'} if dynamic_size else {0: 'batch'}
    dynamic_axes = {'image': image_axes, **{name: {0: 'batch'} for name in output_names}}
    if 'boxes' in dynamic_axes and len(output_names) == 2:  # raw: N follows the size
        for name in output_names:
            dynamic_axes[name][1] = 'points'
    # The TorchScript exporter: the dynamo one needs onnxscript, which we do not install.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')
        try:
            torch.onnx.export(module, (sample,), out_path, dynamo=False, opset_version=opset,
                              input_names=['image'], output_names=output_names,
                              dynamic_axes=dynamic_axes)
        except torch.onnx.errors.OnnxExporterError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else 'failed'
            raise ExportError(f'torch.onnx cannot export the graph at opset {opset} '
                              f'({reason}); try --opset {DEFAULT_OPSET}') from None


def export(detector, image_hw, out_path: str, max_det: int = 100, opset: int = DEFAULT_OPSET,
           variant: str = 'end2end') -> None:
    """Write the NMS-free graph of ``detector`` (``variant``) to ``out_path`` atomically.

    ``image_hw`` is only the tracing size: the graph takes any multiple of the pad divisor.
    """
    from o2f_core.io import atomic_output

    module = build_export_module(detector, variant, max_det)
    with atomic_output(out_path, what='--out') as tmp:
        export_module(module, torch.zeros(1, 3, *image_hw), tmp, OUTPUT_NAMES[variant], opset)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def run_onnxruntime(onnx_path: str, batch: np.ndarray, threads: int = 0) -> list[np.ndarray]:
    """Outputs of ``onnx_path`` on ``batch`` (B, 3, H, W) float32 in onnxruntime (CPU).

    Raises:
        CheckFailed: onnxruntime cannot load or run the graph.
    """
    import onnxruntime

    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(onnx_path, options,
                                               providers=['CPUExecutionProvider'])
        return session.run(None, {'image': batch})
    except Exception as error:  # onnxruntime's own error types live in its compiled module
        raise CheckFailed(f'onnxruntime cannot run the exported graph ({_first_line(error)})'
                          ) from None


def run_opencv_dnn(onnx_path: str, batch: np.ndarray, output_names: list[str]):
    """Outputs of ``onnx_path`` on ``batch`` in OpenCV's DNN module (``cv2.dnn``).

    Raises:
        CheckFailed: OpenCV cannot load or run the graph.
    """
    import cv2

    try:
        net = cv2.dnn.readNetFromONNX(onnx_path)
        net.setInput(batch, 'image')
        return [np.asarray(out) for out in net.forward(output_names)]
    except cv2.error as error:
        raise CheckFailed(f'OpenCV DNN cannot run the exported graph ({_first_line(error)})'
                          ) from None


def predict_nms_free(detector, image: np.ndarray):
    """``detector.predict`` (NMS off) on one RGB uint8 image (H, W, 3): pred_instances."""
    from mmdet.structures import DetDataSample

    height, width = image.shape[:2]
    sample = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                         scale_factor=(1.0, 1.0)))
    bgr = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)
    from o2f_core.eval_runner import switch_nms

    previous = detector.bbox_head.test_cfg.get('with_nms', False)
    switch_nms(detector, False)
    try:
        with torch.no_grad():
            data = detector.data_preprocessor(dict(inputs=[bgr], data_samples=[sample]), False)
            return detector.predict(data['inputs'], data['data_samples'],
                                    rescale=False)[0].pred_instances
    finally:
        switch_nms(detector, previous)


def check(detector, onnx_path: str, images: list[np.ndarray], max_det: int, score_thr: float,
          tolerance: float = 1e-4, variant: str = 'end2end') -> dict:
    """Compare onnxruntime with PyTorch on a batch of RGB uint8 images (B, H, W, 3), per size.

    ``images`` is a list of batches (one per size): the graph must serve all of them. ``raw``
    graphs are also run in OpenCV DNN and compared with onnxruntime.

    Returns:
        dict: ``graph_max_abs`` (ONNX vs the same module in PyTorch), ``predict_max_abs`` (the
        top rows vs ``detector.predict`` above ``score_thr``), ``opencv_max_abs`` (raw only, else
        None), ``labels_equal``, ``num_compared``, ``sizes`` and ``ok``.
    """
    module = build_export_module(detector, variant, max_det)
    graph = predict = 0.0
    opencv = 0.0 if variant == 'raw' else None
    labels_equal = counts_equal = True
    compared = 0
    for batch_images in images:
        batch = np.ascontiguousarray(batch_images.transpose(0, 3, 1, 2).astype(np.float32))
        onnx_out = run_onnxruntime(onnx_path, batch)
        with torch.no_grad():
            torch_out = [t.numpy() for t in module(torch.from_numpy(batch))]
        for name, ours, theirs in zip(OUTPUT_NAMES[variant], onnx_out, torch_out, strict=True):
            if name == 'labels':
                labels_equal &= bool((ours == theirs).all())
            else:
                graph = max(graph, float(np.abs(ours - theirs).max()))
        if variant == 'raw':
            cv_out = run_opencv_dnn(onnx_path, batch, OUTPUT_NAMES[variant])
            opencv = max(opencv, *(float(np.abs(a.reshape(b.shape) - b).max())
                                   for a, b in zip(cv_out, onnx_out, strict=True)))
        for index, image in enumerate(batch_images):
            if variant == 'raw':
                boxes, scores, labels = topk_numpy(onnx_out[0][index], onnx_out[1][index],
                                                   max_det)
            else:
                boxes, scores, labels = (out[index] for out in onnx_out)
            pred = predict_nms_free(detector, image)
            count = min(int((scores > score_thr).sum()), len(pred.scores))
            counts_equal &= (int((scores > score_thr).sum()) == len(pred.scores)
                             or len(pred.scores) == max_det)
            compared += count
            if count:
                predict = max(predict,
                              float(np.abs(boxes[:count] - pred.bboxes[:count].numpy()).max()),
                              float(np.abs(scores[:count] - pred.scores[:count].numpy()).max()))
                labels_equal &= bool((labels[:count] == pred.labels[:count].numpy()).all())
    within = graph <= tolerance and predict <= tolerance and (opencv or 0.0) <= tolerance
    return dict(graph_max_abs=graph, predict_max_abs=predict, opencv_max_abs=opencv,
                labels_equal=labels_equal, num_compared=compared,
                sizes=[tuple(b.shape[:3]) for b in images],
                ok=bool(within and labels_equal and counts_equal))


def check_sizes(size: tuple[int, int], divisor: int) -> list[tuple[int, int]]:
    """The two sizes of the check: ``size`` and one a divisor step smaller in H, larger in W."""
    height, width = size
    return [(height, width), (max(divisor, height - divisor), width + divisor)]


def check_and_report(detector, onnx_path: str, size: tuple[int, int], divisor: int,
                     max_det: int, score_thr: float, tolerance: float,
                     variant: str = 'end2end') -> dict:
    """Run :func:`check` on synthetic scenes (two sizes, batch 2 each) and print its line.

    Raises:
        CheckFailed: a runtime cannot run the graph or differs beyond ``tolerance``.
    """
    from o2f_core.synthetic import generate_scene

    rng = np.random.default_rng(0)
    batches = [np.stack([generate_scene(rng, hw).image for _ in range(2)])
               for hw in check_sizes(size, divisor)]
    result = check(detector, onnx_path, batches, max_det, score_thr, tolerance, variant)
    opencv = ('' if result['opencv_max_abs'] is None
              else f", OpenCV DNN vs onnxruntime max |diff| {result['opencv_max_abs']:.2e}")
    sizes = ', '.join(f'{b}x{h}x{w}' for b, h, w in result['sizes'])
    print(f"onnxruntime vs PyTorch ({sizes}): graph max |diff| {result['graph_max_abs']:.2e}, "
          f"vs predict() max |diff| {result['predict_max_abs']:.2e} over "
          f"{result['num_compared']} detections{opencv}, labels equal: "
          f"{result['labels_equal']} (tolerance {tolerance:g}): "
          f"{'OK' if result['ok'] else 'FAILED'}")
    if not result['ok']:
        raise CheckFailed(f'the onnxruntime check failed (differences above --tolerance '
                          f'{tolerance:g} or unequal labels)')
    return result


def default_out(checkpoint: str, variant: str) -> str:
    """CHECKPOINT with ``.onnx`` (``end2end``) or ``.raw.onnx`` (``raw``)."""
    stem = osp.splitext(checkpoint)[0]
    return stem + ('.onnx' if variant == 'end2end' else f'.{variant}.onnx')


def _dynamic_conv_as_matmul(features: Tensor, weights: list[Tensor], biases: list[Tensor],
                            num_insts: int) -> Tensor:
    """CondInst's dynamic 1x1 convs (groups = instances) as matmuls.

    Args:
        features (Tensor): (1, K * C_in, H, W).
        weights (list[Tensor]): per layer (K * C_out, C_in, 1, 1).
        biases (list[Tensor]): per layer (K * C_out,).

    Returns:
        Tensor: (1, K * C_last, H, W), ReLU between layers as in mmdet.
    """
    height, width = features.shape[2], features.shape[3]
    x = features.reshape(num_insts, -1, height * width)
    for layer, (weight, bias) in enumerate(zip(weights, biases, strict=True)):
        x = weight.reshape(num_insts, -1, weight.shape[1]) @ x + bias.reshape(num_insts, -1, 1)
        if layer < len(weights) - 1:
            x = x.relu()
    return x.reshape(1, -1, height, width)


class CondInstEnd2End(nn.Module):
    """CondInst-o2f, batch 1: image (1, 3, H, W) -> ``boxes`` (K, 4), ``scores`` (K,),
    ``labels`` (K,) and ``masks`` (K, H, W) probabilities (threshold them at the config's
    ``mask_thr``). K = ``max_det`` is a constant; the dynamic filters of the K selected points
    run as one grouped convolution whose weights are graph tensors (ONNX ``Conv`` takes them)."""

    def __init__(self, detector: nn.Module, max_det: int):
        super().__init__()
        self.dense = DenseDetector(detector)
        self.max_det = int(max_det)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        from mmdet.models.utils import aligned_bilinear
        from mmengine.structures import InstanceData

        detector = self.dense.detector
        head, mask_head = detector.bbox_head, detector.mask_head
        features = detector.extract_feat((image - self.dense.mean) / self.dense.std)
        cls_scores, bbox_preds, centernesses, param_preds = head(features)
        joint = _flatten_levels(cls_scores).sigmoid() * _flatten_levels(centernesses).sigmoid()
        strides = head.prior_generator.strides
        points = _level_points(cls_scores, strides, head.prior_generator.offset)
        point_strides = torch.cat([torch.full((c.shape[2] * c.shape[3],), float(s[0]))
                                   for c, s in zip(cls_scores, strides, strict=True)])
        scores, point_index, labels = nms_free_topk(joint, self.max_det)
        index = point_index[0]
        distances = _flatten_levels(bbox_preds)[0][index]
        kept_points = points[index]
        boxes = torch.cat([kept_points - distances[:, :2], kept_points + distances[:, 2:]], -1)
        limit = torch.tensor(image.shape[2:], dtype=torch.float32).flip(0).repeat(2)
        boxes = torch.minimum(boxes.clamp(min=0), limit)
        info = InstanceData(param_preds=_flatten_levels(param_preds)[0][index],
                            points=kept_points, strides=point_strides[index])
        mask_feat = mask_head.mask_feature_head(features)[0]
        # The exporter refuses a Conv whose kernel shape it cannot infer (the dynamic filters):
        # the 1x1 dynamic convs run as batched matmuls instead, the same numbers.
        mask_head.dynamic_conv_forward = _dynamic_conv_as_matmul
        try:
            mask_logits = mask_head.forward_single(mask_feat, info)[0]   # (K, h, w)
        finally:
            del mask_head.dynamic_conv_forward
        masks = aligned_bilinear(mask_logits.sigmoid().unsqueeze(0),
                                 mask_head.mask_out_stride)[0]           # (K, H', W')
        return boxes, scores[0], labels[0], masks[:, :image.shape[2], :image.shape[3]]
