"""Pictures of what o2f changes (PNG files; ``tools/visualize.py``, used by the demo).

* ``detections``: ground truth next to each detector's boxes **without NMS** on the most crowded
  validation images. A one-to-many detector (FCOS) shows stacks of duplicates; o2f one box each.
* ``score-maps``: the paper's Fig. 6. For one training image, per FPN level, the o2f head's
  joint score map (max over classes) next to the soft labels the assigner gives at that epoch's T,
  at an early and a late epoch: early, several ambiguous anchors get large targets; late, one
  certain anchor per object stands out and its neighbours are pushed down.

Usage::

    python tools/visualize.py detections --config CFG_A --checkpoint CKPT_A --name FCOS \
        --config CFG_B --checkpoint CKPT_B --name o2f --out-dir work_dirs/demo
    python tools/visualize.py score-maps --config configs/det/o2f_demo_cpu.py \
        --checkpoint epoch_1.pth --epoch 1 --checkpoint epoch_12.pth --epoch 12 \
        --max-epochs 12 --out-dir work_dirs/demo

Bad arguments: one error line, exit code 2. PNGs are written atomically through ``o2f_core.io``
(normal permissions, a symbolic link is followed) and never onto one of the inputs (config,
checkpoint, annotation file, image): such an output is refused with one line.
"""

from __future__ import annotations

import os
import os.path as osp
import sys
import tempfile
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw

from o2f_core.cli import CliError, OneLineArgumentParser, exit_on_cli_error

# Distinct colours per class index (RGB); ground truth is drawn in white.
CLASS_COLOURS = [(255, 90, 90), (90, 255, 120), (110, 160, 255), (255, 220, 70), (230, 120, 255)]
GT_COLOUR = (255, 255, 255)
UPSCALE = 3  # small demo images are drawn 3x larger so boxes stay readable


def _save_png_atomic(save, path: str, inputs: Iterable[str | None] = ()) -> None:
    """Write a PNG atomically with ``save(file_name)`` (``Image.save`` / ``Figure.savefig``),
    refusing ``path`` when it is the same file as one of ``inputs``."""
    from o2f_core.io import atomic_output

    with atomic_output(path, inputs=inputs, what='picture') as temp_path:
        save(temp_path)


def _draw_boxes(image: Image.Image, boxes, labels, title: str) -> Image.Image:
    """``image`` upscaled with ``boxes`` (K, 4) xyxy (input pixels) and a title bar."""
    big = image.convert('RGB').resize((image.width * UPSCALE, image.height * UPSCALE),
                                      Image.NEAREST)
    canvas = Image.new('RGB', (big.width, big.height + 16), (0, 0, 0))
    canvas.paste(big, (0, 16))
    draw = ImageDraw.Draw(canvas)
    draw.text((3, 2), title, fill=(255, 255, 255))
    for box, label in zip(np.asarray(boxes).reshape(-1, 4), labels, strict=True):
        colour = GT_COLOUR if label is None else CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]
        x1, y1, x2, y2 = (float(v) * UPSCALE for v in box)
        draw.rectangle([x1, y1 + 16, x2, y2 + 16], outline=colour, width=1)
    return canvas


def _pairwise_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes, (A, 4) x (B, 4) -> (A, B)."""
    top_left = np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    bottom_right = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(-1)
    area_a = (boxes_a[:, 2:] - boxes_a[:, :2]).prod(-1)
    area_b = (boxes_b[:, 2:] - boxes_b[:, :2]).prod(-1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def count_hits_and_duplicates(boxes: np.ndarray, gt_boxes: np.ndarray,
                              iou_thr: float = 0.5) -> tuple[int, int]:
    """Class-agnostic greedy matching of score-ordered ``boxes`` to ``gt_boxes``.

    A box whose best still-free object overlaps it with IoU >= ``iou_thr`` is a hit; a box that
    overlaps some object that much, but only already-taken ones, is a duplicate.

    Returns:
        tuple[int, int]: (hits, duplicates).
    """
    if len(boxes) == 0 or len(gt_boxes) == 0:
        return 0, 0
    iou = _pairwise_iou(np.asarray(boxes, float), np.asarray(gt_boxes, float))  # (K, M)
    taken = np.zeros(len(gt_boxes), bool)
    hits = duplicates = 0
    for row in iou:  # sequential by nature: each match changes what the next box may take
        free = np.where(taken, -1.0, row)
        if free.max() >= iou_thr:
            taken[free.argmax()] = True
            hits += 1
        elif row.max() >= iou_thr:
            duplicates += 1
    return hits, duplicates


def draw_detection_comparison(predictions: dict, ann_file: str, out_dir: str,
                              num_images: int = 4, score_thr: float | None = None,
                              filename: str = 'detections_no_nms.png') -> list[str]:
    """Grid: one row per image (the most crowded ones), GT then each detector without NMS.

    By default each detector shows its N best boxes, N = the image's number of objects: a
    threshold-free view of what AP rewards (one box per object at the top of the ranking). The
    tile title counts those boxes that hit a new object (IoU >= 0.5) and the duplicates.

    Args:
        predictions (dict): detector name -> list of per-image dicts with ``img_id``,
            ``img_path``, ``bboxes`` (K, 4) xyxy, ``scores`` (K,), ``labels`` (K,); all lists
            cover the same images.
        ann_file (str): the COCO json of those images (for the ground truth).
        out_dir (str): where the PNG goes.
        num_images (int): rows.
        score_thr (float, optional): draw the boxes scoring at least this instead.
        filename (str): PNG name inside ``out_dir``.

    Returns:
        list[str]: the written file names, relative to ``out_dir``.
    """
    import json

    with open(ann_file) as file:
        coco = json.load(file)
    gt_by_image: dict[int, list] = {}
    for ann in coco['annotations']:
        gt_by_image.setdefault(ann['image_id'], []).append(ann['bbox'])
    names = list(predictions)
    by_id = {name: {p['img_id']: p for p in preds} for name, preds in predictions.items()}
    common = sorted(set.intersection(*(set(ids) for ids in by_id.values())))
    if not common:
        raise ValueError('draw_detection_comparison: the detectors share no image')

    def crowdedness(img_id):  # pairs of gt boxes overlapping with IoU > 0.3, then object count
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in gt_by_image.get(img_id, [])])
        if len(boxes) < 2:
            return (0, len(boxes))
        return (int(np.triu(_pairwise_iou(boxes, boxes) > 0.3, 1).sum()), len(boxes))

    chosen = sorted(common, key=lambda i: (-crowdedness(i)[0], -crowdedness(i)[1], i))
    rows = []
    for img_id in chosen[:num_images]:
        image = Image.open(by_id[names[0]][img_id]['img_path'])
        gt = [[x, y, x + w, y + h] for x, y, w, h in gt_by_image.get(img_id, [])]
        tiles = [_draw_boxes(image, gt, [None] * len(gt), f'ground truth: {len(gt)}')]
        for name in names:
            pred = by_id[name][img_id]
            order = np.argsort(-pred['scores'], kind='stable')
            keep = order[:len(gt)] if score_thr is None else order[
                pred['scores'][order] >= score_thr]
            hits, duplicates = count_hits_and_duplicates(pred['bboxes'][keep], np.array(gt))
            shown = f'best {len(keep)}' if score_thr is None else f'{len(keep)} >= {score_thr:g}'
            tiles.append(_draw_boxes(image, pred['bboxes'][keep], pred['labels'][keep],
                                     f'{name}, no NMS, {shown}: {hits} hit, {duplicates} dup'))
        row = Image.new('RGB', (sum(t.width for t in tiles) + 4 * (len(tiles) - 1),
                                tiles[0].height), (40, 40, 40))
        x = 0
        for tile in tiles:
            row.paste(tile, (x, 0))
            x += tile.width + 4
        rows.append(row)
    grid = Image.new('RGB', (rows[0].width, sum(r.height for r in rows) + 4 * (len(rows) - 1)),
                     (40, 40, 40))
    y = 0
    for row in rows:
        grid.paste(row, (0, y))
        y += row.height + 4
    images = [by_id[names[0]][img_id]['img_path'] for img_id in chosen[:num_images]]
    _save_png_atomic(lambda tmp: grid.save(tmp, format='PNG'), osp.join(out_dir, filename),
                     inputs=[ann_file, *images])
    return [filename]


def _pick_crowded_sample(dataset) -> int:
    """Index of the training image with the most objects (ties: the first)."""
    counts = [len(dataset.get_data_info(i)['instances']) for i in range(len(dataset))]
    return int(np.argmax(counts))


def score_maps_and_soft_labels(model, dataset, index: int, temperature: float):
    """Per-level joint score maps and assigned soft labels of one training image.

    Args:
        model: a built FCOS detector with an ``O2FHead`` (``bbox_head.o2f_flatten`` /
            ``o2f_assign``).
        dataset: the mmdet training dataset (its ``get_data_info`` gives path and boxes).
        index (int): image index in ``dataset``.
        temperature (float): T used by the assigner (the epoch's value).

    Returns:
        tuple: ``image`` (H, W, 3) uint8 RGB, ``gt_boxes`` (M, 4), ``score_maps`` and
        ``soft_maps``: lists over levels of (H_i, W_i) float arrays, ``certain_maps`` (bool).
    """
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    info = dataset.get_data_info(index)
    image = np.asarray(Image.open(info['img_path']).convert('RGB'))
    boxes = np.array([inst['bbox'] for inst in info['instances']], np.float32).reshape(-1, 4)
    labels = np.array([inst['bbox_label'] for inst in info['instances']], np.int64)
    head = model.bbox_head
    device = next(model.parameters()).device
    sample = DetDataSample(metainfo=dict(img_shape=image.shape[:2], ori_shape=image.shape[:2],
                                         pad_shape=image.shape[:2], scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(bboxes=torch.from_numpy(boxes),
                                       labels=torch.from_numpy(labels))
    # The data preprocessor expects BGR uint8 CHW like mmcv's image loading.
    inputs = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)
    was_training = model.training
    previous_t = head.temperature
    try:
        model.eval()   # backbone BN uses its running statistics
        head.train()   # head outputs in training units (o2f_flatten expects them); GN only
        with torch.no_grad():
            data = model.data_preprocessor(dict(inputs=[inputs], data_samples=[sample]), False)
            feats = model.extract_feat(data['inputs'])
            cls_scores, bbox_preds, centernesses = head(feats)
            scores, pred_boxes, points, strides = head.o2f_flatten(cls_scores, bbox_preds,
                                                                   centernesses)
            head.set_temperature(temperature)
            gt = data['data_samples'][0].gt_instances.to(device)
            result = head.o2f_assign(scores, pred_boxes, points, strides, [gt])[0]
    finally:
        head.set_temperature(previous_t)
        model.train(was_training)
    sizes = [tuple(s.shape[-2:]) for s in cls_scores]
    split = [h * w for h, w in sizes]

    def per_level(flat):
        return [part.reshape(size).cpu().numpy()
                for part, size in zip(flat.split(split), sizes, strict=True)]

    return (image, boxes, per_level(scores[0].max(-1).values), per_level(result.soft_targets),
            per_level(result.certain))


def draw_score_maps(model, dataset, checkpoints: dict, max_epochs: int, out_dir: str,
                    index: int | None = None, filename: str = 'score_maps_fig6.png',
                    allow_partial: bool = False) -> list[str]:
    """The paper's Fig. 6 for an early and a late epoch, as one PNG.

    Args:
        model: the o2f detector (its weights are replaced by each checkpoint in turn; entries
            with checkpoint ``None`` use the weights it has, and are drawn first).
        dataset: the training dataset.
        checkpoints (dict): 1-based epoch -> checkpoint path or None.
        max_epochs (int): the run's epochs (T of an epoch follows ``linear_temperature``).
        out_dir (str): where the PNG goes.
        index (int, optional): training image; default: the one with the most objects.
        filename (str): PNG name inside ``out_dir``.

    Returns:
        list[str]: the written file names, relative to ``out_dir``.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from o2f_core import linear_temperature

    index = _pick_crowded_sample(dataset) if index is None else index
    panels = {}
    # Current weights first: loading a checkpoint overwrites them.
    for epoch, path in sorted(checkpoints.items(), key=lambda item: item[1] is not None):
        if path is not None:
            _load_strict(model, path, allow_partial)
        temperature = linear_temperature(epoch - 1, max_epochs)
        panels[epoch] = (temperature, *score_maps_and_soft_labels(model, dataset, index,
                                                                  temperature))
    epochs = sorted(panels)
    num_levels = len(panels[epochs[0]][3])  # (T, image, boxes, score_maps, ...)
    figure, axes = plt.subplots(2 * len(epochs), num_levels + 1,
                                figsize=(2.2 * (num_levels + 1), 2.2 * 2 * len(epochs)),
                                squeeze=False)
    strides = [int(s[0]) for s in model.bbox_head.prior_generator.strides]
    for block, epoch in enumerate(epochs):
        temperature, image, boxes, score_maps, soft_maps, certain_maps = panels[epoch]
        for row_offset, (kind, maps) in enumerate((('joint score', score_maps),
                                                   ('soft label', soft_maps))):
            row = 2 * block + row_offset
            axis = axes[row, 0]
            axis.imshow(image)
            for x1, y1, x2, y2 in boxes:
                axis.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color='white',
                                         linewidth=0.8))
            axis.set_title(f'epoch {epoch}/{max_epochs} (T={temperature:.2f})\n{kind}',
                           fontsize=7)
            for level, level_map in enumerate(maps):
                axis = axes[row, level + 1]
                axis.imshow(level_map, vmin=0.0, vmax=1.0, cmap='viridis',
                            interpolation='nearest')
                if kind == 'soft label':  # the certain positives: red squares
                    ys, xs = np.nonzero(certain_maps[level])
                    axis.scatter(xs, ys, marker='s', s=12, facecolors='none', edgecolors='red',
                                 linewidths=0.8)
                axis.set_title(f'P{level + 3} (stride {strides[level]})', fontsize=7)
        for axis in axes[2 * block:2 * block + 2].ravel():
            axis.set_xticks([])
            axis.set_yticks([])
    figure.suptitle('o2f: joint score maps vs assigned soft labels (red: certain positive)',
                    fontsize=8)
    figure.tight_layout()
    try:
        _save_png_atomic(lambda tmp: figure.savefig(tmp, dpi=110, format='png'),
                         osp.join(out_dir, filename),
                         inputs=[p for p in checkpoints.values() if p is not None])
    finally:
        plt.close(figure)
    return [filename]


# ------------------------------------------------------------------------------------ CLI


def set_data_root(cfg, data_root: str) -> None:
    """Point a demo-style config (train/test dataloaders, test evaluator) at ``data_root``."""
    data_root = osp.abspath(data_root) + os.sep
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            cfg[loader].dataset.data_root = data_root
    for evaluator in ('val_evaluator', 'test_evaluator'):
        if cfg.get(evaluator) and 'ann_file' in cfg[evaluator]:
            cfg[evaluator].ann_file = osp.join(data_root, 'annotations',
                                               osp.basename(cfg[evaluator].ann_file))


def _check_data(cfg, config: str) -> None:
    """One-line error when the config's annotation files are missing."""
    for loader in ('train_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        ann_file = osp.join(dataset.get('data_root', ''), dataset.ann_file)
        if not osp.isfile(ann_file):
            raise CliError(f'{config}: annotation file {ann_file} not found; make the data with '
                           'tools/make_synthetic.py or pass --data-root DIR')


def _load_strict(model, checkpoint: str, allow_partial: bool) -> None:
    """Load weights that must cover the model (``--allow-partial``: any overlap, reported)."""
    from o2f_core.engine import CheckpointError, load_checkpoint_strict

    try:
        load_checkpoint_strict(model, checkpoint, allow_partial)
    except CheckpointError as error:
        raise CliError(str(error)) from None


def _offline_det_config(config: str, data_root: str | None):
    """The det config with its data checked and no ImageNet download (weights come after)."""
    from o2f_core.cli import load_task_config

    cfg = load_task_config(config, 'det')
    if data_root is not None:
        set_data_root(cfg, data_root)
    _check_data(cfg, config)
    cfg.model.backbone.init_cfg = None
    return cfg


def _build_model(config: str, checkpoint: str | None, data_root: str | None,
                 allow_partial: bool = False):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    cfg = _offline_det_config(config, data_root)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        _load_strict(model, checkpoint, allow_partial)
    return cfg, model


def build_parser() -> OneLineArgumentParser:
    """The ``tools/visualize.py`` command line (sub-commands ``detections``, ``score-maps``)."""
    parser = OneLineArgumentParser(prog='tools/visualize.py',
                                   description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    det = sub.add_parser('detections', help='GT vs detectors without NMS')
    det.add_argument('--config', action='append', required=True)
    det.add_argument('--checkpoint', action='append', required=True)
    det.add_argument('--name', action='append', required=True)
    det.add_argument('--out-dir', required=True)
    det.add_argument('--data-root', help="dataset directory (default: the config's)")
    det.add_argument('--num-images', type=int, default=4)
    det.add_argument('--score-thr', type=float, default=None,
                     help='draw boxes above this score (default: the N best, N = objects)')
    maps = sub.add_parser('score-maps', help="the paper's Fig. 6")
    maps.add_argument('--config', required=True)
    maps.add_argument('--checkpoint', action='append', required=True)
    maps.add_argument('--epoch', type=int, action='append', required=True)
    maps.add_argument('--max-epochs', type=int, required=True)
    maps.add_argument('--out-dir', required=True)
    maps.add_argument('--data-root', help="dataset directory (default: the config's)")
    for command in (det, maps):
        command.add_argument('--allow-partial', action='store_true',
                             help='use checkpoints that do not cover the model (prints what was '
                             'not loaded); refused otherwise')
    return parser


@exit_on_cli_error
def main(argv: list[str] | None = None) -> int:
    """``tools/visualize.py``: writes the PNG, prints its path; 2 on a user error."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from o2f_core.engine import install_checkpoint_support
    from o2f_core.io import UnsafeOutputError, check_output_path

    install_checkpoint_support()

    configs = args.config if args.command == 'detections' else [args.config]
    filename = 'detections_no_nms.png' if args.command == 'detections' else 'score_maps_fig6.png'
    try:  # before any work: the picture must not land on an input
        check_output_path(osp.join(args.out_dir, filename), inputs=[*configs, *args.checkpoint],
                          what='picture')
    except UnsafeOutputError as error:
        parser.error(str(error))
    try:
        if args.command == 'detections':
            if not len(args.config) == len(args.checkpoint) == len(args.name):
                parser.error('give one --checkpoint and one --name per --config')
            predictions, ann_file = {}, None
            for config, checkpoint, name in zip(args.config, args.checkpoint, args.name,
                                                strict=True):
                if not osp.isfile(checkpoint):
                    parser.error(f'checkpoint not found: {checkpoint}')
                predictions[name], ann_file = _predict_without_nms(config, checkpoint,
                                                                   args.data_root,
                                                                   args.allow_partial)
            written = draw_detection_comparison(predictions, ann_file, args.out_dir,
                                                args.num_images, args.score_thr)
        else:
            if len(args.checkpoint) != len(args.epoch):
                parser.error('give one --epoch per --checkpoint')
            if any(not 1 <= e <= args.max_epochs for e in args.epoch):
                parser.error(f'--epoch values must lie in [1, --max-epochs={args.max_epochs}]')
            for checkpoint in args.checkpoint:
                if not osp.isfile(checkpoint):
                    parser.error(f'checkpoint not found: {checkpoint}')
            cfg, model = _build_model(args.config, None, args.data_root)
            from mmdet.registry import DATASETS

            dataset = DATASETS.build(cfg.train_dataloader.dataset)
            written = draw_score_maps(model, dataset, dict(zip(args.epoch, args.checkpoint,
                                                               strict=True)),
                                      args.max_epochs, args.out_dir,
                                      allow_partial=args.allow_partial)
    except (CliError, UnsafeOutputError) as error:
        print(str(error), file=sys.stderr)
        return 2
    for name in written:
        print(osp.join(args.out_dir, name))
    return 0


def _predict_without_nms(config: str, checkpoint: str, data_root: str | None,
                         allow_partial: bool = False):
    """Test-set predictions of one checkpoint with NMS off, and the test annotation file."""
    from mmengine.runner import Runner

    from o2f_core.eval_runner import collect_predictions, switch_nms

    cfg = _offline_det_config(config, data_root)
    cfg.log_level = 'WARNING'
    # The runner's log folder is ours alone and removed afterwards (it used to pile up in /tmp).
    with tempfile.TemporaryDirectory(prefix='o2f_visualize_', ignore_cleanup_errors=True) as tmp:
        cfg.work_dir = tmp
        runner = Runner.from_cfg(cfg)
        _load_strict(runner.model, checkpoint, allow_partial)
        switch_nms(runner.model, False)
        predictions = collect_predictions(runner.model, runner.test_dataloader)
    return predictions, cfg.test_evaluator.ann_file
