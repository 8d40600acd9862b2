"""onnxruntime CPU latency, NMS-free o2f ``end2end`` vs FCOS with NMS inside the graph.

Both detectors are exported at one fixed size (random init is enough: latency does not depend on
training, only on how many candidates reach the post-process). Per detector two graphs:

* the deployed graph: o2f ``end2end`` (one TopK over points x classes) or FCOS with mmdet's
  post-process in ONNX ops (per level the ``nms_pre`` best (point, class) pairs above
  ``score_thr``, scores times centerness, class-aware ``NonMaxSuppression`` at the config's IoU,
  at most ``max_per_img`` kept);
* the same network without post-process (the ``raw`` outputs): the post-process share is
  ``1 - raw / deployed``.

Scenes: the classification bias is set so that a given fraction of the (point, class) joint
scores passes ``score_thr`` (``ordinary``: few candidates; ``crowded``: many, which is where NMS
costs). The bias is patched into the exported ONNX files, so each graph is exported once.
"""

from __future__ import annotations

import os.path as osp
import statistics
import time

import numpy as np
import torch
from torch import Tensor, nn
from torchvision.ops import nms  # imported here: its import fails inside a trace

from . import onnx_export as ox

SCENES = {'ordinary': 0.0005, 'crowded': 0.05}  # fraction of joint scores above score_thr
CLS_BIAS = 'bbox_head.conv_cls.bias'  # initializer name ends with it


class _NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` (PyTorch side: torchvision's NMS, for tracing and checks)."""

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, max_out: int, iou: float, thr: float):
        rows = []
        for batch in range(boxes.shape[0]):
            valid = (scores[batch, 0] > thr).nonzero().squeeze(1)
            keep = valid[nms(boxes[batch, valid], scores[batch, 0, valid], iou)][:max_out]
            rows.append(torch.stack([torch.full_like(keep, batch), torch.zeros_like(keep), keep],
                                    dim=1))
        return torch.cat(rows)

    @staticmethod
    def symbolic(g, boxes, scores, max_out, iou, thr):
        return g.op('NonMaxSuppression', boxes, scores,
                    g.op('Constant', value_t=torch.tensor([max_out], dtype=torch.int64)),
                    g.op('Constant', value_t=torch.tensor([iou], dtype=torch.float32)),
                    g.op('Constant', value_t=torch.tensor([thr], dtype=torch.float32)))


class FCOSWithNMS(nn.Module):
    """image (1, 3, H, W) -> ``boxes`` (K, 4), ``scores`` (K,), ``labels`` (K,): mmdet's FCOS
    post-process with NMS inside the graph (K <= ``max_per_img``, batch 1)."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.dense = ox.DenseDetector(detector)
        cfg = detector.bbox_head.test_cfg
        self.nms_pre = int(cfg.get('nms_pre', 1000))
        self.score_thr = float(cfg.get('score_thr', 0.05))
        self.iou = float(cfg['nms']['iou_threshold'])
        self.max_per_img = int(cfg.get('max_per_img', 100))

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        detector = self.dense.detector
        head = detector.bbox_head
        features = detector.extract_feat((image - self.dense.mean) / self.dense.std)
        cls_scores, bbox_preds, centernesses = head(features)
        points = ox._level_points(cls_scores, head.prior_generator.strides,
                                  head.prior_generator.offset)
        mlvl_boxes, mlvl_scores, mlvl_labels, start = [], [], [], 0
        for cls, reg, ctr in zip(cls_scores, bbox_preds, centernesses, strict=True):
            num_classes, count = cls.shape[1], cls.shape[2] * cls.shape[3]
            scores = cls.permute(0, 2, 3, 1).reshape(1, -1).sigmoid()        # (1, n * C)
            top, index = scores.topk(min(self.nms_pre, count * num_classes), dim=1)
            point = torch.div(index, num_classes, rounding_mode='floor')[0]
            level_points = points[start:start + count][point]
            distances = reg.permute(0, 2, 3, 1).reshape(-1, 4)[point]
            centerness = ctr.reshape(-1)[point].sigmoid()
            # mmdet: score_thr on the class score, NMS on class score x centerness.
            mlvl_scores.append(torch.where(top[0] > self.score_thr, top[0] * centerness,
                                           torch.full_like(centerness, -1.0)))
            mlvl_labels.append(index[0] - point * num_classes)
            mlvl_boxes.append(torch.cat([level_points - distances[:, :2],
                                         level_points + distances[:, 2:]], dim=1))
            start += count
        boxes = torch.cat(mlvl_boxes)
        limit = torch.tensor(image.shape[2:], dtype=torch.float32).flip(0).repeat(2)
        boxes = torch.minimum(boxes.clamp(min=0), limit)
        scores, labels = torch.cat(mlvl_scores), torch.cat(mlvl_labels)
        # Class-aware NMS as mmdet's batched_nms: boxes of different classes never overlap.
        offsets = labels.to(boxes.dtype).unsqueeze(1) * (limit.max() + 1)
        keep = _NonMaxSuppression.apply((boxes + offsets).unsqueeze(0),
                                        scores.view(1, 1, -1), self.max_per_img, self.iou, 0.0)
        keep = keep[:, 2]
        return boxes[keep], scores[keep], labels[keep]


def build_random_detector(config: str):
    """The config's detector with random weights (no checkpoint, no pretrained download)."""
    _, detector = ox.load_detector(config, None, require_o2f=False)
    return detector


def calibrate_cls_bias(detector, image: np.ndarray, fraction: float) -> float:
    """The classification bias (same for every class) that lets ``fraction`` of the (point,
    class) joint scores pass ``test_cfg.score_thr`` on ``image`` (H, W, 3) RGB uint8."""
    head = detector.bbox_head
    score_thr = float(head.test_cfg.get('score_thr', 0.05))
    batch = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    dense = ox.DenseDetector(detector).eval()
    with torch.no_grad():
        cls_scores, _, centernesses = head(detector.extract_feat(
            (batch - dense.mean) / dense.std))
        bias = head.conv_cls.bias.view(1, -1, 1, 1)
        logits = ox._flatten_levels([c - bias for c in cls_scores])[0]    # (N, C) without bias
        ctr = ox._flatten_levels(centernesses)[0].sigmoid()               # (N, 1)
    low, high = -30.0, 30.0
    for _ in range(60):  # bisection: the passing fraction grows with the bias
        middle = (low + high) / 2
        passing = ((logits + middle).sigmoid() * ctr > score_thr).float().mean().item()
        low, high = (middle, high) if passing < fraction else (low, middle)
    return (low + high) / 2


def patch_initializer(onnx_path: str, out_path: str, name: str, value: float) -> None:
    """Copy ``onnx_path`` to ``out_path`` with the initializer named ``*name`` set to ``value``."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(onnx_path)
    for init in model.graph.initializer:
        if init.name.endswith(name):
            array = np.full_like(numpy_helper.to_array(init), value)
            init.CopyFrom(numpy_helper.from_array(array, init.name))
            break
    else:
        raise KeyError(f'{onnx_path} has no initializer {name}')
    onnx.save(model, out_path)


def median_latencies(onnx_paths: dict, batch: np.ndarray, runs: int, threads: int) -> dict:
    """``{key: (median seconds, outputs)}`` in onnxruntime CPU, one warm-up each.

    The graphs take turns run by run, so a change of machine load hits all of them alike.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    sessions = {key: onnxruntime.InferenceSession(path, options,
                                                  providers=['CPUExecutionProvider'])
                for key, path in onnx_paths.items()}
    outputs = {key: session.run(None, {'image': batch}) for key, session in sessions.items()}
    times = {key: [] for key in sessions}
    for _ in range(runs):
        for key, session in sessions.items():
            start = time.perf_counter()
            session.run(None, {'image': batch})
            times[key].append(time.perf_counter() - start)
    return {key: (statistics.median(times[key]), outputs[key]) for key in sessions}


def median_latency(onnx_path: str, batch: np.ndarray, runs: int, threads: int
                   ) -> tuple[float, list[np.ndarray]]:
    """(median seconds of ``runs`` runs after one warm-up, the outputs) of one graph."""
    return median_latencies({'graph': onnx_path}, batch, runs, threads)['graph']


def run_benchmark(o2f_config: str, fcos_config: str, size: tuple[int, int], work_dir: str,
                  runs: int = 5, threads: int = 2, scenes: dict | None = None,
                  log=print) -> dict:
    """Latencies per scene and detector; see the module docstring.

    Returns:
        dict: ``{scene: {'o2f': {...}, 'fcos': {...}, 'ratio': o2f / fcos}}`` where each
        detector's dict holds ``deployed_s``, ``raw_s``, ``post_share``, ``cls_bias``,
        ``candidates`` (joint scores above score_thr) and ``detections`` (rows the deployed
        graph returns above score_thr).
    """
    from o2f_core.synthetic import generate_scene

    scenes = SCENES if scenes is None else scenes
    image = generate_scene(np.random.default_rng(0), size).image
    batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None].astype(np.float32))
    graphs = {}
    for name, config in (('o2f', o2f_config), ('fcos', fcos_config)):
        detector = build_random_detector(config)
        head = detector.bbox_head
        deployed = (FCOSWithNMS(detector) if name == 'fcos' else
                    ox.End2EndDetector(detector, int(head.test_cfg.get('max_per_img', 100))))
        paths = {kind: osp.join(work_dir, f'{name}_{kind}.onnx') for kind in ('deployed', 'raw')}
        log(f'exporting {name} ({config}) at {size[0]}x{size[1]} ...')
        ox.export_module(deployed.eval(), torch.from_numpy(batch), paths['deployed'],
                         ['boxes', 'scores', 'labels'], dynamic_size=False)
        ox.export_module(ox.DenseDetector(detector).eval(), torch.from_numpy(batch),
                         paths['raw'], ['boxes', 'scores'], dynamic_size=False)
        biases = {scene: calibrate_cls_bias(detector, image, fraction)
                  for scene, fraction in scenes.items()}
        graphs[name] = (paths, biases, float(head.test_cfg.get('score_thr', 0.05)))
    results = {}
    for scene in scenes:
        results[scene] = {}
        patched = {}
        for name, (paths, biases, _) in graphs.items():
            for kind, path in paths.items():
                patched[name, kind] = osp.join(work_dir, f'{name}_{kind}_{scene}.onnx')
                patch_initializer(path, patched[name, kind], CLS_BIAS, biases[scene])
        timed = median_latencies(patched, batch, runs, threads)
        for name, (_, _, score_thr) in graphs.items():
            deployed_s, deployed_out = timed[name, 'deployed']
            raw_s, raw_out = timed[name, 'raw']
            results[scene][name] = dict(
                deployed_s=deployed_s, raw_s=raw_s, post_share=1.0 - raw_s / deployed_s,
                cls_bias=biases[scene], candidates=int((raw_out[1] > score_thr).sum()),
                detections=int((deployed_out[1] > score_thr).sum()))
        results[scene]['ratio'] = (results[scene]['o2f']['deployed_s']
                                   / results[scene]['fcos']['deployed_s'])
        log(format_scene(scene, results[scene]))
    return results


def format_scene(scene: str, result: dict) -> str:
    """One printed line per scene: latencies, post-process shares and the o2f / FCOS ratio."""
    o2f, fcos = result['o2f'], result['fcos']
    return (f"{scene:9s} candidates o2f {o2f['candidates']:7d} fcos {fcos['candidates']:7d} | "
            f"o2f end2end {o2f['deployed_s'] * 1e3:8.1f} ms (post-process "
            f"{o2f['post_share']:6.1%}) | FCOS + NMS {fcos['deployed_s'] * 1e3:8.1f} ms "
            f"(post-process {fcos['post_share']:6.1%}) | o2f / FCOS {result['ratio']:.3f}x")


def main(argv: list[str] | None = None) -> int:
    """``tools/benchmark_deploy.py``: prints one line per scene; returns the exit code."""
    import sys

    from o2f_core.cli import OneLineArgumentParser, exit_on_cli_error

    parser = OneLineArgumentParser(prog='tools/benchmark_deploy.py',
                                   description=__doc__.split('\n\n')[0])
    return exit_on_cli_error(_run)(parser, sys.argv[1:] if argv is None else argv)


def _run(parser, argv: list[str]) -> int:
    import sys
    import tempfile

    parser.add_argument('--o2f-config', default='configs/det/o2f_r50_1x.py')
    parser.add_argument('--fcos-config', default='configs/det/fcos_r50_1x.py')
    parser.add_argument('--scenes', nargs='+', choices=tuple(SCENES), default=tuple(SCENES))
    parser.add_argument('--size', type=int, nargs=2, default=(800, 1344), metavar=('H', 'W'),
                        help='input size, multiples of 32 (default 800 1344: 800x1333 padded)')
    parser.add_argument('--runs', type=int, default=5, help='timed runs per graph (median)')
    parser.add_argument('--threads', type=int, default=2, help='onnxruntime intra-op threads')
    args = parser.parse_args(argv)
    if args.runs < 1 or args.threads < 1 or min(args.size) < 32 or args.size[0] % 32 or \
            args.size[1] % 32:
        parser.error('--runs and --threads must be >= 1 and --size multiples of 32')
    try:
        with tempfile.TemporaryDirectory(prefix='o2f-benchmark-') as work_dir:
            run_benchmark(args.o2f_config, args.fcos_config, tuple(args.size), work_dir,
                          args.runs, args.threads, {name: SCENES[name] for name in args.scenes})
    except ox.ExportError as error:
        print(f'{parser.prog}: error: {error}', file=sys.stderr)
        return 2
    return 0
