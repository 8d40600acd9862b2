"""Fixtures of the det tests: a tiny COCO dataset drawn with PIL and a tiny config on it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE_SIZE = 96
# Per image: (class index, x1, y1, x2, y2); image 3 has no object.
TINY_OBJECTS = [
    [(0, 10, 12, 50, 60), (1, 55, 20, 90, 40)],
    [(1, 5, 5, 40, 30)],
    [(0, 30, 30, 80, 90), (0, 8, 60, 28, 88)],
    [],
]
CLASSES = ('square', 'bar')
COLOURS = [(220, 40, 40), (40, 60, 220)]


def write_tiny_coco(root: Path) -> Path:
    """Write 4 RGB images with filled rectangles and one COCO json used for train and val."""
    from PIL import Image, ImageDraw

    (root / 'images').mkdir(parents=True, exist_ok=True)
    (root / 'annotations').mkdir(exist_ok=True)
    images, annotations = [], []
    for image_id, objects in enumerate(TINY_OBJECTS, start=1):
        image = Image.new('RGB', (IMAGE_SIZE, IMAGE_SIZE), (128, 128, 128))
        draw = ImageDraw.Draw(image)
        for label, x1, y1, x2, y2 in objects:
            draw.rectangle([x1, y1, x2 - 1, y2 - 1], fill=COLOURS[label])
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id,
                                    category_id=label + 1, bbox=[x1, y1, x2 - x1, y2 - y1],
                                    area=(x2 - x1) * (y2 - y1), iscrowd=0))
        name = f'{image_id:06d}.png'
        image.save(root / 'images' / name)
        images.append(dict(id=image_id, file_name=name, width=IMAGE_SIZE, height=IMAGE_SIZE))
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)]
    ann_file = root / 'annotations' / 'tiny.json'
    ann_file.write_text(json.dumps(dict(images=images, annotations=annotations,
                                        categories=categories)))
    return ann_file


TINY_CONFIG = '''
_base_ = {base!r}
data_root = {root!r}
metainfo = dict(classes={classes!r})
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
    bbox_head=dict(num_classes=2, in_channels=32, feat_channels=32, stacked_convs=1))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=({size}, {size}), keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=({size}, {size}), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
_dataset = dict(type='CocoDataset', data_root=data_root, metainfo=metainfo,
                ann_file='annotations/tiny.json', data_prefix=dict(img='images/'))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False), batch_sampler=None,
    dataset=dict(_dataset, filter_cfg=dict(filter_empty_gt=False), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_dataset, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/tiny.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=100)
default_hooks = dict(logger=dict(interval=1), visualization=dict(draw=False))
randomness = dict(seed=0)
'''


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory) -> Path:
    """Root of the tiny COCO dataset (``images/``, ``annotations/tiny.json``)."""
    root = tmp_path_factory.mktemp('tiny_coco')
    write_tiny_coco(root)
    return root


@pytest.fixture(scope='session')
def tiny_config(tiny_coco, tmp_path_factory) -> Path:
    """A ResNet-18 FCOS-o2f config on the tiny dataset (1 epoch = 2 iterations of 2 images)."""
    path = tmp_path_factory.mktemp('tiny_cfg') / 'tiny_o2f.py'
    path.write_text(TINY_CONFIG.format(base=str(REPO / 'configs/det/o2f_r50_1x.py'),
                                       root=str(tiny_coco) + '/', classes=CLASSES,
                                       size=IMAGE_SIZE))
    return path


@pytest.fixture(scope='session')
def cli_env() -> dict:
    """Environment for CLI subprocesses: few threads, no GPU, quiet."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='',
               PYTHONHASHSEED='0')
    return env


@pytest.fixture(scope='session')
def python() -> str:
    return sys.executable


@pytest.fixture(scope='session')
def repo() -> Path:
    return REPO


def run_cli(args: list[str], env: dict, timeout: int = 300):
    """Run a command from the repository root; returns the CompletedProcess."""
    import subprocess

    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope='session')
def cli():
    return run_cli


def nonempty_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope='session')
def lines():
    return nonempty_lines
