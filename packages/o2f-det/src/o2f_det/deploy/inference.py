"""Inference on images, folders of images and videos: pictures with boxes (and masks) and JSON.

The command line is ``tools/infer.py`` (see :func:`main`). Per input it writes, under
``--out-dir``:

* an image ``NAME.jpg`` -> ``NAME.jpg`` (boxes drawn) and ``NAME.json``
  ``{"input", "height", "width", "classes", "detections": [{"bbox": [x1, y1, x2, y2], "score",
  "label", "class_name"}]}``;
* a folder -> the same for each of its images (sorted by name);
* a video ``NAME.mp4`` -> ``NAME.mp4`` (every frame drawn) and ``NAME.json`` with
  ``"frames": [{"frame": i, "detections": [...]}]``;
* with ``--coco-json``: one ``results.json`` instead of the JSON files, COCO results
  ``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}]`` with ``image_id`` the running
  index of the image or frame (in the order printed) and ``category_id`` the 0-based label.

Inference is NMS-free by default (the o2f heads' ``test_cfg.with_nms=False``); ``--nms`` turns
on the NMS switch of every head that has one. Every file is written atomically and never onto
an input; bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import os
import os.path as osp
import sys

import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
# Transforms of a test pipeline that read annotations: there are none at inference.
ANNOTATION_TRANSFORMS = ('LoadAnnotations', 'LoadPanopticAnnotations')
PROG = 'tools/infer.py'


def _cli():
    from o2f_core.cli import CliError, OneLineArgumentParser, exit_on_cli_error

    return CliError, OneLineArgumentParser, exit_on_cli_error


def build_parser():
    _, OneLineArgumentParser, _ = _cli()
    parser = OneLineArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('inputs', nargs='+', metavar='INPUT',
                        help='an image, a folder of images or a video file')
    parser.add_argument('--out-dir', default='work_dirs/infer',
                        help='folder for the pictures and JSON files (default work_dirs/infer)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detections at or below this score are not kept (default 0.3)')
    parser.add_argument('--nms', action='store_true',
                        help="apply NMS (the heads' test_cfg.with_nms switch); NMS-free otherwise")
    parser.add_argument('--device', default=None, help='e.g. cpu, cuda:0 (default: cuda if '
                        'available, else cpu)')
    parser.add_argument('--coco-json', action='store_true',
                        help='write one COCO-results results.json instead of one JSON per input')
    parser.add_argument('--allow-partial', action='store_true',
                        help='run even when the checkpoint does not cover the model (prints '
                        'what was not loaded); refused otherwise')
    return parser


def collect_inputs(inputs: list[str]) -> list[tuple[str, str]]:
    """``[(kind, path)]`` with kind 'image' or 'video'; folders are expanded to their images.

    Raises:
        CliError: a missing path, an unsupported extension or a folder without images.
    """
    CliError = _cli()[0]
    items = []
    for path in inputs:
        if osp.isdir(path):
            images = sorted(osp.join(path, name) for name in os.listdir(path)
                            if name.lower().endswith(IMAGE_EXTENSIONS)
                            and osp.isfile(osp.join(path, name)))
            if not images:
                raise CliError(f'{PROG}: error: folder {path} holds no image '
                               f'({", ".join(IMAGE_EXTENSIONS)})')
            items += [('image', image) for image in images]
        elif not osp.isfile(path):
            raise CliError(f'{PROG}: error: input not found: {path}')
        elif path.lower().endswith(IMAGE_EXTENSIONS):
            items.append(('image', path))
        elif path.lower().endswith(VIDEO_EXTENSIONS):
            items.append(('video', path))
        else:
            raise CliError(f'{PROG}: error: {path} is neither an image '
                           f'({", ".join(IMAGE_EXTENSIONS)}) nor a video '
                           f'({", ".join(VIDEO_EXTENSIONS)})')
    return items


def class_names(cfg) -> list[str]:
    """The class names of the config's test dataset (its ``metainfo`` or the dataset class's)."""
    from mmdet.registry import DATASETS

    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is None and dataset.get('type'):
        dataset_class = DATASETS.get(dataset['type'])
        classes = getattr(dataset_class, 'METAINFO', {}).get('classes')
    return [str(name) for name in classes or ()]


class Predictor:
    """A detector loaded strictly from a checkpoint, with the config's test pipeline.

    ``predict(bgr)`` takes an (H, W, 3) uint8 BGR image and returns mmdet's ``pred_instances``
    in the image's coordinates.
    """

    def __init__(self, config: str, checkpoint: str, device: str | None = None,
                 allow_partial: bool = False, with_nms: bool = False):
        import torch
        from mmdet.registry import MODELS
        from mmengine.config import Config
        from mmengine.dataset import Compose
        from mmengine.registry import init_default_scope

        from o2f_core.engine import CheckpointError, load_checkpoint_strict

        CliError = _cli()[0]
        if not osp.isfile(config):
            raise CliError(f'{PROG}: error: config file not found: {config}')
        try:
            cfg = Config.fromfile(config)
        except Exception as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ''
            raise CliError(f'{PROG}: error: cannot load config {config}: '
                           f'{type(error).__name__}: {first}') from None
        from o2f_core.cli import TASKS

        if cfg.get('o2f_task') not in TASKS:
            raise CliError(f'{PROG}: error: {config} is not an o2f config (no o2f_task = '
                           f"{' / '.join(map(repr, TASKS))})")
        if not osp.isfile(checkpoint):
            raise CliError(f'{PROG}: error: checkpoint not found: {checkpoint}')
        cfg.model.backbone.init_cfg = None
        init_default_scope(cfg.get('default_scope', 'mmdet'))
        self.model = MODELS.build(cfg.model)
        try:  # another model's weights are refused
            load_checkpoint_strict(self.model, checkpoint, allow_partial)
        except CheckpointError as error:
            raise CliError(f'{PROG}: error: {error}') from None
        from o2f_core.eval_runner import switch_nms

        if not switch_nms(self.model, with_nms) and with_nms:
            raise CliError(f'{PROG}: error: --nms: the model of {config} has no head with a '
                           'test_cfg.with_nms switch')
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        try:
            self.model.to(device).eval()
        except (RuntimeError, AssertionError) as error:
            raise CliError(f'{PROG}: error: --device {device}: {error}') from None
        self.cfg = cfg
        self.classes = class_names(cfg)
        self.with_masks = cfg.o2f_task == 'seg'
        steps = [dict(step) for step in cfg.test_dataloader.dataset.pipeline
                 if step['type'].split('.')[-1] not in ANNOTATION_TRANSFORMS]
        steps[0] = dict(type='mmdet.LoadImageFromNDArray')  # frames come decoded
        self.pipeline = Compose(steps)

    def predict(self, bgr: np.ndarray):
        import torch
        from mmengine.dataset import pseudo_collate

        data = self.pipeline(dict(img=bgr, img_id=0))
        with torch.no_grad():
            return self.model.test_step(pseudo_collate([data]))[0].pred_instances.cpu()


def detections(pred, score_thr: float, classes: list[str]) -> list[dict]:
    """JSON-ready detections above ``score_thr``: bbox xyxy, score, label, class_name."""
    keep = pred.scores > score_thr
    out = []
    for box, score, label in zip(pred.bboxes[keep].tolist(), pred.scores[keep].tolist(),
                                 pred.labels[keep].tolist(), strict=True):
        out.append(dict(bbox=[round(v, 2) for v in box], score=round(score, 5), label=label,
                        class_name=classes[label] if label < len(classes) else str(label)))
    return out


def draw(bgr: np.ndarray, pred, score_thr: float, classes: list[str]) -> np.ndarray:
    """A copy of ``bgr`` with the boxes (and masks) above ``score_thr`` drawn."""
    import cv2

    canvas = bgr.copy()
    keep = (pred.scores > score_thr).numpy()
    num_colours = max([len(classes), *(pred.labels + 1).tolist()])
    colours = [tuple(int(c) for c in np.random.default_rng(label).integers(64, 256, 3))
               for label in range(num_colours)]
    if 'masks' in pred and keep.any():
        for mask, label in zip(pred.masks.numpy()[keep], pred.labels.numpy()[keep], strict=True):
            canvas[mask] = (0.5 * canvas[mask] + 0.5 * np.array(colours[label])).astype(np.uint8)
    for item in detections(pred, score_thr, classes):
        x1, y1, x2, y2 = (int(round(v)) for v in item['bbox'])
        colour = colours[item['label']]
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 1)
        cv2.putText(canvas, f"{item['class_name']} {item['score']:.2f}", (x1, max(y1 - 2, 8)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.3, colour, 1, cv2.LINE_AA)
    return canvas


def _progress(total: int):
    from mmengine.utils import ProgressBar

    return ProgressBar(total, file=sys.stderr)


class _Writer:
    """Unique output names under ``out_dir``; every write atomic and checked against inputs."""

    def __init__(self, out_dir: str, inputs: list[str]):
        self.out_dir, self.inputs, self.used = out_dir, inputs, set()

    def name(self, path: str) -> str:
        stem = osp.splitext(osp.basename(path))[0]
        name, index = stem, 1
        while name in self.used:
            name, index = f'{stem}_{index}', index + 1
        self.used.add(name)
        return osp.join(self.out_dir, name)

    def write(self, path: str, data: str | bytes) -> None:
        from o2f_core.io import atomic_write

        atomic_write(path, data, self.inputs, 'output')


def _run_image(predictor, writer, path, args, coco, image_id):
    import cv2

    CliError = _cli()[0]
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise CliError(f'{PROG}: error: cannot read image {path} (not an image, or corrupt)')
    pred = predictor.predict(bgr)
    base = writer.name(path)
    suffix = osp.splitext(path)[1].lower()
    suffix = suffix if suffix in ('.jpg', '.jpeg', '.png', '.bmp') else '.png'
    _, encoded = cv2.imencode(suffix, draw(bgr, pred, args.score_thr, predictor.classes))
    writer.write(base + suffix, encoded.tobytes())
    found = detections(pred, args.score_thr, predictor.classes)
    if coco is not None:
        coco += _coco_rows(found, image_id)
    else:
        writer.write(base + '.json', json.dumps(dict(
            input=path, height=bgr.shape[0], width=bgr.shape[1], classes=predictor.classes,
            detections=found), indent=1))
    return image_id + 1


def _coco_rows(found: list[dict], image_id: int) -> list[dict]:
    return [dict(image_id=image_id, category_id=item['label'],
                 bbox=[x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)],
                 score=item['score'])
            for item in found for x1, y1, x2, y2 in [item['bbox']]]


def _run_video(predictor, writer, path, args, coco, image_id):
    import cv2

    from o2f_core.io import atomic_output

    CliError = _cli()[0]
    capture = cv2.VideoCapture(path)
    ok, frame = capture.read() if capture.isOpened() else (False, None)
    if not ok:
        capture.release()
        raise CliError(f'{PROG}: error: cannot read video {path} (unsupported format or codec, '
                       'or no frame); convert it to e.g. MP4 (H.264 / MPEG-4)')
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    base = writer.name(path)
    frames = []
    bar = _progress(total)
    # VideoWriter picks the container from the extension, hence the staged name's suffix;
    # atomic_output publishes the video only when every frame is written.
    with atomic_output(base + '.mp4', writer.inputs, 'output', suffix='.mp4') as video_tmp:
        height, width = frame.shape[:2]
        video = cv2.VideoWriter(video_tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
        try:
            index = 0
            while ok:
                pred = predictor.predict(frame)
                video.write(draw(frame, pred, args.score_thr, predictor.classes))
                found = detections(pred, args.score_thr, predictor.classes)
                if coco is not None:
                    coco += _coco_rows(found, image_id)
                frames.append(dict(frame=index, detections=found))
                image_id, index = image_id + 1, index + 1
                bar.update()
                ok, frame = capture.read()
        finally:
            video.release()
            capture.release()
    sys.stderr.write('\n')
    if coco is None:
        writer.write(base + '.json', json.dumps(dict(
            input=path, height=height, width=width, fps=fps, classes=predictor.classes,
            frames=frames), indent=1))
    return image_id


def main(argv: list[str] | None = None) -> int:
    """``tools/infer.py``: returns the exit code (2 with one stderr line on bad input)."""
    return _cli()[2](_main)(argv)


def _main(argv: list[str] | None) -> int:
    from o2f_core.io import UnsafeOutputError, check_output_path, install_termination_handlers

    CliError = _cli()[0]
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not 0.0 <= args.score_thr < 1.0:
        raise CliError(f'{PROG}: error: --score-thr must lie in [0, 1), got {args.score_thr}')
    items = collect_inputs(args.inputs)
    for path in args.inputs:
        if osp.isdir(path) and osp.realpath(path) == osp.realpath(args.out_dir):
            raise CliError(f'{PROG}: error: --out-dir {args.out_dir} is an input folder; '
                           'choose another folder (outputs would be read as inputs next time)')
    inputs = [args.config, args.checkpoint, *(path for _, path in items)]
    try:
        check_output_path(osp.join(args.out_dir, 'results.json'), inputs, '--out-dir')
    except UnsafeOutputError as error:
        raise CliError(f'{PROG}: error: {error}') from None
    install_termination_handlers()
    predictor = Predictor(args.config, args.checkpoint, args.device, args.allow_partial,
                          args.nms)
    writer = _Writer(args.out_dir, inputs)
    coco = [] if args.coco_json else None
    image_id = 0
    images = [path for kind, path in items if kind == 'image']
    bar = _progress(len(images)) if len(images) > 1 else None
    try:
        for kind, path in items:
            if kind == 'image':
                image_id = _run_image(predictor, writer, path, args, coco, image_id)
                if bar is not None:
                    bar.update()
            else:
                image_id = _run_video(predictor, writer, path, args, coco, image_id)
    except UnsafeOutputError as error:
        raise CliError(f'{PROG}: error: {error}') from None
    if coco is not None:
        writer.write(osp.join(args.out_dir, 'results.json'), json.dumps(coco))
    print(f'\nwrote {len(writer.used)} result(s) for {image_id} image(s)/frame(s) to '
          f'{args.out_dir} ({"with" if args.nms else "without"} NMS)')
    return 0
