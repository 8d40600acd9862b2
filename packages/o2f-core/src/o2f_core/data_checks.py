"""Checks of a config's data files before any model is built (train and test runners).

A missing COCO download otherwise ends in a 57-line pycocotools traceback after the model was
built, and a broken image in a crash hours into training. :func:`check_config_data` looks at every
dataloader's dataset (wrappers such as ``RepeatDataset`` included) and raises ONE
:class:`~o2f_core.cli.CliError` line naming the file, the config key and the fix:

- the annotation file exists, is not empty and parses: COCO json (``images``, ``annotations``,
  ``categories`` lists) or CrowdHuman ``.odgt`` (one JSON record per line);
- the image folder exists;
- every listed image exists and is not empty, and the first :data:`DECODED_IMAGES` decode.

Standard library + PIL only; nothing here imports mmdet.
"""

from __future__ import annotations

import json
import os
import os.path as osp

from o2f_core.cli import CliError

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
DECODED_IMAGES = 4  # decoding is the slow part; existence and size are checked for all images
DATA_HINT = ('data go under data/coco/ (COCO 2017) and data/crowdhuman/ (see README "Entry '
             'points"), or point the config at them with --cfg-options {key}.data_root=DIR/')


def _join(data_root: str | None, path: str) -> str:
    return path if osp.isabs(path) or not data_root else osp.join(data_root, path)


def _iter_datasets(node, key: str):
    """Yield ``(dataset_cfg, key)`` for a dataset config and the datasets it wraps."""
    if not isinstance(node, dict):
        return
    if node.get('ann_file') is not None:
        yield node, key
    if isinstance(node.get('dataset'), dict):
        yield from _iter_datasets(node['dataset'], f'{key}.dataset')
    for index, child in enumerate(node.get('datasets') or []):
        yield from _iter_datasets(child, f'{key}.datasets.{index}')


def _read_coco(path: str, key: str) -> list[str]:
    """Image file names of a COCO json; raises CliError when it is not one."""
    try:
        with open(path, encoding='utf-8') as file:
            data = json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CliError(f'annotation file {path} ({key}.ann_file) is not valid JSON (truncated '
                       f'or not a COCO file?): {err}; re-download or regenerate it') from None
    missing = [name for name in ('images', 'annotations', 'categories')
               if not isinstance(data, dict) or not isinstance(data.get(name), list)]
    if missing:
        raise CliError(f'annotation file {path} ({key}.ann_file) is not a COCO annotation file: '
                       f'no {missing[0]!r} list; pass a COCO instances_*.json')
    names = []
    for index, image in enumerate(data['images']):
        if not isinstance(image, dict) or not isinstance(image.get('file_name'), str):
            raise CliError(f'annotation file {path} ({key}.ann_file): images[{index}] has no '
                           "'file_name'; pass a COCO instances_*.json")
        names.append(image['file_name'])
    return names


def _read_odgt(path: str, key: str) -> list[str]:
    """Image file names (``ID.jpg``) of a CrowdHuman .odgt; raises CliError when it is not one."""
    names = []
    with open(path, encoding='utf-8', errors='replace') as file:
        for line_number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise CliError(f'annotation file {path} ({key}.ann_file) line {line_number} is '
                               f'not JSON (truncated?): {err}; pass a CrowdHuman .odgt') from None
            if not isinstance(record, dict) or not isinstance(record.get('ID'), str):
                raise CliError(f'annotation file {path} ({key}.ann_file) line {line_number} has '
                               "no string 'ID'; pass a CrowdHuman .odgt (one record per line)")
            names.append(record['ID'] + '.jpg')
    return names


def _check_image(path: str, decode: bool) -> str | None:
    """Why the image cannot be used, or None."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 'is missing'
    if size == 0:
        return 'is an empty (zero-byte) file'
    if decode:
        from PIL import Image

        try:
            with Image.open(path) as image:
                image.load()
        except Exception as err:  # PIL raises many types for broken files
            return f'cannot be decoded ({type(err).__name__}: {str(err).splitlines()[0]})'
    return None


def check_dataset(dataset: dict, key: str, check_images: bool = True) -> int:
    """Check one dataset config's files; returns how many images it lists.

    Raises:
        CliError: one line naming the file, the config key and the fix.
    """
    data_root = dataset.get('data_root') or ''
    ann_file = _join(data_root, dataset['ann_file'])
    hint = DATA_HINT.format(key=key)
    if not osp.exists(ann_file):
        raise CliError(f'annotation file not found: {ann_file} ({key}.ann_file); {hint}')
    if not osp.isfile(ann_file):
        raise CliError(f'annotation file {ann_file} ({key}.ann_file) is not a file')
    if osp.getsize(ann_file) == 0:
        raise CliError(f'annotation file {ann_file} ({key}.ann_file) is empty; re-download or '
                       'regenerate it')
    names = (_read_odgt if ann_file.endswith('.odgt') else _read_coco)(ann_file, key)
    prefix = dataset.get('data_prefix') or {}
    img_prefix = prefix.get('img', prefix.get('img_path', '')) if isinstance(prefix, dict) else ''
    image_dir = _join(data_root, img_prefix or '')
    if image_dir and not osp.isdir(image_dir):
        raise CliError(f'image folder not found: {image_dir} ({key}.data_prefix.img); {hint}')
    if check_images:
        for index, name in enumerate(names):
            path = osp.join(image_dir, name)
            reason = _check_image(path, decode=index < DECODED_IMAGES)
            if reason is not None:
                raise CliError(f'image {path} (listed in {ann_file}) {reason}; restore it or '
                               'remove it from the annotation file')
    return len(names)


def check_config_data(cfg, dataloaders: tuple[str, ...] = DATALOADERS) -> None:
    """Check the data files of the named dataloaders of ``cfg`` (those set to None are skipped).

    Raises:
        CliError: the first problem, as one line.
    """
    for loader_key in dataloaders:
        loader = cfg.get(loader_key)
        if not isinstance(loader, dict):
            continue
        for dataset, key in _iter_datasets(loader.get('dataset'), f'{loader_key}.dataset'):
            if isinstance(dataset.get('ann_file'), str) and dataset['ann_file']:
                check_dataset(dataset, key)
