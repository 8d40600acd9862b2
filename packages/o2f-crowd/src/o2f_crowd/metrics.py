"""``O2FCrowdHumanMetric``: the CrowdHuman evaluator as an mmengine metric
(``mmdet.registry.METRICS``).

For every evaluation it writes the detections ``.odgt`` (the file ``tools/eval_crowd.py --dt``
reads, which gives the same four numbers) and reports ``AP``, ``mMR``, ``Recall`` and ``JI``
(fractions) under the ``crowdhuman/`` prefix. Unlike mmdet's ``CrowdHumanMetric`` it matches
predictions to the gt by ``ID`` (any sampler order works), computes in float64 with the reference
rules (see :mod:`o2f_crowd.evaluation.crowd_eval`) and reports Recall.
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, MMLogger

from .evaluation import detection_record, evaluate, load_odgt, parse_dt_record, write_odgt

__all__ = ["O2FCrowdHumanMetric"]


@METRICS.register_module()
class O2FCrowdHumanMetric(BaseMetric):
    """AP, mMR, Recall and JI of full-body person detections on CrowdHuman.

    Args:
        ann_file (str): The gt ``.odgt`` of the evaluated split.
        outfile_prefix (str, optional): Detections go to ``<prefix>_epoch_<e>.odgt`` during
            training (e = the epoch just trained, 1-based, like checkpoints) and to
            ``<prefix>.odgt`` otherwise. Default: ``<run log dir>/crowdhuman_dt``; with neither
            a prefix nor a runner log file nothing is written.
        box_decimals (int): Rounding of written box coordinates (pixels).
        collect_device (str): ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
        prefix (str, optional): Metric name prefix. Default ``'crowdhuman'``.
    """

    default_prefix = "crowdhuman"

    def __init__(self, ann_file: str, outfile_prefix: str | None = None, box_decimals: int = 2,
                 collect_device: str = "cpu", prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        self.outfile_prefix = outfile_prefix
        self.box_decimals = box_decimals
        self._gt_images = None  # parsed once, on the first evaluation

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each image's ID, original size and predictions (original-image xyxy pixels)."""
        for sample in data_samples:
            pred = sample["pred_instances"]
            height, width = sample["ori_shape"][:2]
            self.results.append(detection_record(
                sample["img_id"], height, width, pred["bboxes"].detach().cpu().numpy(),
                pred["scores"].detach().cpu().numpy(), self.box_decimals))

    def _output_path(self) -> str | None:
        prefix = self.outfile_prefix
        if prefix is None:
            log_file = MMLogger.get_current_instance().log_file
            if not log_file:
                return None
            prefix = osp.join(osp.dirname(log_file), "crowdhuman_dt")
        hub = MessageHub.get_current_instance()
        if hub.get_info("loop_stage") == "val" and hub.get_info("epoch") is not None:
            return f"{prefix}_epoch_{hub.get_info('epoch') + 1}.odgt"
        return f"{prefix}.odgt"

    def compute_metrics(self, results: list) -> dict:
        """Write the detections file, then evaluate the same records against ``ann_file``."""
        logger = MMLogger.get_current_instance()
        if self._gt_images is None:
            self._gt_images = load_odgt(self.ann_file, "gt")
        path = self._output_path()
        if path is not None:
            write_odgt(path, results)
            logger.info(f"CrowdHuman detections written to {path}")
        metrics = evaluate(self._gt_images, [
            parse_dt_record(record, path or "<predictions>", index + 1)
            for index, record in enumerate(results)])
        logger.info(
            f"CrowdHuman: {metrics['num_images']} images ({metrics['num_images_without_dt_record']}"
            f" without predictions), {metrics['num_detections']} detections, JI best at score > "
            f"{metrics['JI_threshold']:.1f}")
        return {name: float(np.float64(metrics[name])) for name in ("AP", "mMR", "Recall", "JI")}
