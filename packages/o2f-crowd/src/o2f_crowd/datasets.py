"""CrowdHuman for mmdet: ``O2FCrowdHumanDataset`` (registered into ``mmdet.registry.DATASETS``).

Configs import this module through ``custom_imports``. It reads CrowdHuman ``.odgt`` annotations
and ``<data_root>/<data_prefix.img><ID>.jpg`` images with the same box rules as the evaluator:

* one class, ``person``; full-body boxes (``fbox``) by default, visible boxes (``vbox``) with
  ``box_type='visible'``;
* a box that does not overlap the image, or is under 1 px wide or high, is dropped (the authors'
  dataset rule; the evaluator still counts every gt box);
* a box whose ``tag`` is not ``person`` or whose ``extra.ignore`` is non-zero is an **ignore
  region**. By default (the authors' recipe) ignore regions are dropped too: nothing reaches the
  head, so their points train as negatives. With ``keep_ignore_regions=True`` they become
  ``ignore_flag=1`` instances (label -1, as mmdet's ``CrowdHumanDataset``), which ``PackDetInputs``
  moves to ``data_sample.ignored_instances``; the head gets them as ``batch_gt_instances_ignore``
  and the o2f assigner never labels points inside them (neither positive nor negative).

Image sizes, as mmdet's ``CrowdHumanDataset`` finds them and more: the record's
``height``/``width``; else ``image_size_file`` (alias ``extra_ann_file``, mmdet's argument: the
``id_hw`` JSON ``{ID: [h, w]}``); else, as mmdet does, ``<data_root>/id_hw_train.json`` or
``id_hw_val.json`` when the annotation file name holds ``train`` or ``val`` and that file exists;
else the image header. Unlike mmdet it never writes into ``data_root``, does not require
``hbox``/``vbox`` and can train on ``vbox``. Bad records raise
:class:`~o2f_crowd.evaluation.OdgtFormatError` naming the file and line; a missing size file or
image raises one naming the path.
"""

from __future__ import annotations

import os.path as osp

import numpy as np
from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from mmengine.fileio import load

from .evaluation.odgt import OdgtFormatError, read_odgt_records

__all__ = ["O2FCrowdHumanDataset"]

BOX_KEYS = {"full": "fbox", "visible": "vbox"}
# The authors' dataset drops boxes narrower or lower than this (pixels).
MIN_BOX_SIDE = 1.0


def _is_trainable(x: float, y: float, w: float, h: float, width: int, height: int) -> bool:
    """The authors' rule: the box overlaps the image and is at least 1 px wide and high."""
    overlap_w = max(0.0, min(x + w, width) - max(x, 0.0))
    overlap_h = max(0.0, min(y + h, height) - max(y, 0.0))
    return overlap_w * overlap_h > 0 and w >= MIN_BOX_SIDE and h >= MIN_BOX_SIDE


def _image_size_from_header(path: str) -> tuple[int, int]:
    from PIL import Image  # only when neither the record nor image_size_file has the size

    with Image.open(path) as image:
        width, height = image.size
    return height, width


@DATASETS.register_module()
class O2FCrowdHumanDataset(BaseDetDataset):
    """CrowdHuman ``.odgt`` dataset with ignore regions and a full/visible box choice.

    Args:
        box_type (str): ``'full'`` (``fbox``, default) or ``'visible'`` (``vbox``); ignore regions
            use the same key.
        image_size_file (str, optional): JSON ``{ID: [height, width]}`` (mmdet's
            ``id_hw_*.json``), used for records without ``height``/``width``; relative to
            ``data_root``. Default: ``id_hw_{train,val}.json`` in ``data_root`` as mmdet finds it.
        extra_ann_file (str, optional): mmdet's name for ``image_size_file``.
        keep_ignore_regions (bool): False (default, the authors' recipe): ignore regions are
            dropped, so the head trains their points as negatives. True: they are kept as
            ``ignore_flag=1`` instances (``data_sample.ignored_instances``), which O2FHead
            excludes from its negatives.
        **kwargs: :class:`mmdet.datasets.BaseDetDataset` arguments (``ann_file``, ``data_root``,
            ``data_prefix=dict(img='Images/')``, ``pipeline``, ``test_mode``, ``filter_cfg`` ...).
            ``filter_cfg=dict(filter_empty_gt=True, min_size=...)`` drops, in training only,
            images without a (kept) person and images whose shorter side is below ``min_size``.
    """

    METAINFO = {"classes": ("person",), "palette": [(220, 20, 60)]}

    def __init__(self, *args, box_type: str = "full", image_size_file: str | None = None,
                 extra_ann_file: str | None = None, keep_ignore_regions: bool = False,
                 **kwargs):
        if box_type not in BOX_KEYS:
            raise ValueError(f"O2FCrowdHumanDataset: box_type must be one of {sorted(BOX_KEYS)}, "
                             f"got {box_type!r}")
        if image_size_file is not None and extra_ann_file is not None and \
                image_size_file != extra_ann_file:
            raise ValueError("O2FCrowdHumanDataset: image_size_file and extra_ann_file name the "
                             "same thing; give one of them")
        self.box_key = BOX_KEYS[box_type]
        self.image_size_file = image_size_file if image_size_file is not None else extra_ann_file
        self.keep_ignore_regions = bool(keep_ignore_regions)
        super().__init__(*args, **kwargs)

    def _size_file(self) -> str | None:
        """The ``id_hw`` JSON to read: the given one (must exist), else mmdet's default, if any."""
        if self.image_size_file is not None:
            path = self.image_size_file
            if self.data_root and not osp.isabs(path):
                path = osp.join(self.data_root, path)
            if not osp.isfile(path):
                raise OdgtFormatError(path, None, "image size file not found",
                                      "pass an existing id_hw JSON ({ID: [height, width]}) as "
                                      "image_size_file, or leave it out")
            return path
        name = osp.basename(self.ann_file)
        split = "train" if "train" in name else "val" if "val" in name else None
        if split is None:
            return None
        path = osp.join(self.data_root or osp.dirname(self.ann_file), f"id_hw_{split}.json")
        return path if osp.isfile(path) else None

    def load_data_list(self) -> list[dict]:
        """Parse every record of ``ann_file`` (one image per non-blank line)."""
        sizes, path = {}, self._size_file()
        if path is not None:
            try:
                sizes = load(path, file_format="json")
            except (ValueError, UnicodeDecodeError) as error:
                raise OdgtFormatError(path, None, f"image size file is not JSON ({error})",
                                      "write {ID: [height, width]}") from None
            if not isinstance(sizes, dict):
                raise OdgtFormatError(path, None, "image size file is not a JSON object",
                                      "write {ID: [height, width]}")
        data_list = [self._parse_record(record, line, sizes)
                     for line, record in read_odgt_records(self.ann_file)]
        if not data_list:
            raise OdgtFormatError(self.ann_file, 1, "the annotation file has no records",
                                  "pass a CrowdHuman .odgt file (one image per line)")
        return data_list

    def _parse_record(self, record: dict, line: int, sizes: dict) -> dict:
        source = self.ann_file
        if not isinstance(record, dict) or not isinstance(record.get("ID"), str) or \
                not isinstance(record.get("gtboxes"), list):
            raise OdgtFormatError(source, line, "the record needs a string 'ID' and a 'gtboxes' "
                                  "list", 'write {"ID": "...", "gtboxes": [...]} per line')
        image_id = record["ID"]
        img_path = osp.join(self.data_prefix.get("img", ""), f"{image_id}.jpg")
        if "height" in record and "width" in record:
            height, width = record["height"], record["width"]
        elif image_id in sizes:
            height, width = sizes[image_id]
        elif osp.isfile(img_path):
            height, width = _image_size_from_header(img_path)
        else:
            raise OdgtFormatError(
                source, line, f"image '{image_id}' has no height/width and {img_path} is missing",
                "add the image, height/width to the record, or an id_hw JSON as image_size_file")

        instances = []
        for index, box in enumerate(record["gtboxes"]):
            value = box.get(self.box_key) if isinstance(box, dict) else None
            if not isinstance(value, list) or len(value) != 4 or not np.isfinite(value).all() \
                    or value[2] < 0 or value[3] < 0:
                raise OdgtFormatError(
                    source, line, f"image '{image_id}': gt box {index} has "
                    f"'{self.box_key}' = {value!r}",
                    f"each gt box needs '{self.box_key}': [x, y, w, h] with w, h >= 0")
            extra = box.get("extra")
            ignored = box.get("tag") != "person" or bool(
                isinstance(extra, dict) and extra.get("ignore", 0))
            x, y, w, h = (float(v) for v in value)
            if (ignored and not self.keep_ignore_regions) or \
                    not _is_trainable(x, y, w, h, width, height):
                continue
            instances.append({"bbox": [x, y, x + w, y + h], "bbox_label": -1 if ignored else 0,
                              "ignore_flag": int(ignored)})
        return {"img_path": img_path, "img_id": image_id, "height": int(height),
                "width": int(width), "instances": instances}

    def filter_data(self) -> list[dict]:
        """In training, drop images without persons / smaller than ``min_size`` (if configured)."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty = self.filter_cfg.get("filter_empty_gt", False)
        min_size = self.filter_cfg.get("min_size", 0)
        return [info for info in self.data_list
                if min(info["width"], info["height"]) >= min_size and not (
                    filter_empty and all(inst["ignore_flag"] for inst in info["instances"]))]
