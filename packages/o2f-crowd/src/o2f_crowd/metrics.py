"""``O2FCrowdHumanMetric``: the CrowdHuman evaluator as an mmengine metric
(``mmdet.registry.METRICS``), a drop-in for mmdet's ``CrowdHumanMetric``.

It takes every argument of mmdet's metric and reports the same names under the same prefix
(``crowd_human/mAP``, ``crowd_human/mMR``, ``crowd_human/JI``, rounded to 4 decimals as mmdet
does), so a config that switches from mmdet's metric keeps its ``save_best`` key; ``'Recall'`` in
``metric`` adds ``crowd_human/Recall``. Arguments it cannot honour (head boxes, VOC matching,
another IoU threshold, remote files) raise a ``ValueError`` that says so instead of computing
something else. Unlike mmdet's metric it matches predictions to the gt by ``ID`` (any sampler
order works), computes in float64 with the reference rules (see
:mod:`o2f_crowd.evaluation.crowd_eval`), matches JI by maximum weight, and runs in one process.

Every evaluation writes the detections as mmdet's result file (a JSON list of odgt records, one
per line), which ``tools/eval_crowd.py --dt`` reads and evaluates to the same numbers.
"""

from __future__ import annotations

import json
import os.path as osp
from collections.abc import Sequence

from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, MMLogger

from .evaluation import (
    MR_REFERENCE_FPPI,
    MR_REFERENCE_FPPI_4,
    detection_record,
    evaluate,
    load_odgt,
    parse_dt_record,
)

__all__ = ["O2FCrowdHumanMetric"]

# metric argument -> reported name (mmdet's names; Recall is ours).
METRIC_NAMES = {"AP": "mAP", "MR": "mMR", "JI": "JI", "Recall": "Recall"}
MR_REFERENCES = {"CALTECH_-2": MR_REFERENCE_FPPI, "CALTECH_-4": MR_REFERENCE_FPPI_4}


def _refuse(name: str, value, why: str) -> ValueError:
    return ValueError(f"O2FCrowdHumanMetric: {name}={value!r} is not supported: {why}")


@METRICS.register_module()
class O2FCrowdHumanMetric(BaseMetric):
    """AP, mMR, JI (and Recall) of full-body person detections on CrowdHuman.

    Args:
        ann_file (str): The gt ``.odgt`` of the evaluated split (a local file).
        metric (str | list[str]): Any of ``'AP'``, ``'MR'``, ``'JI'`` (mmdet's default: all three)
            and ``'Recall'``; another name raises ``KeyError`` as mmdet's metric does.
        format_only (bool): Only write the result file (needs ``outfile_prefix``); report nothing.
        outfile_prefix (str, optional): Detections go to ``<prefix>_epoch_<e>.json`` during
            training (e = the epoch just trained, 1-based, like checkpoints) and to
            ``<prefix>.json`` otherwise. Default: ``<run log dir>/crowdhuman_dt``; with neither
            a prefix nor a runner log file nothing is written.
        file_client_args (dict, optional): Deprecated in mmdet; must be None (as in mmdet).
        backend_args (dict, optional): None or ``dict(backend='local')``: only local files.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
        prefix (str, optional): Metric name prefix. Default ``'crowd_human'`` (mmdet's).
        eval_mode (int): 0 (full-body boxes) only; 1 (head) and 2 (both) are refused.
        iou_thres (float): 0.5 only (the CrowdHuman rule, IoU > 0.5).
        compare_matching_method (str, optional): None (Caltech matching with ignore regions)
            only; ``'VOC'`` is refused.
        mr_ref (str): FPPI points of mMR: ``'CALTECH_-2'`` (10^-2 .. 1, default) or
            ``'CALTECH_-4'`` (10^-4 .. 1).
        num_ji_process (int): Accepted for compatibility (a positive int); JI is computed in this
            process for all images at once, so it changes nothing.
        box_decimals (int): Rounding of written box coordinates (pixels).
    """

    default_prefix = "crowd_human"

    def __init__(self, ann_file: str, metric: str | list[str] = ("AP", "MR", "JI"),
                 format_only: bool = False, outfile_prefix: str | None = None,
                 file_client_args: dict | None = None, backend_args: dict | None = None,
                 collect_device: str = "cpu", prefix: str | None = None, eval_mode: int = 0,
                 iou_thres: float = 0.5, compare_matching_method: str | None = None,
                 mr_ref: str = "CALTECH_-2", num_ji_process: int = 10, box_decimals: int = 2):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        for name in self.metrics:
            if name not in METRIC_NAMES:
                raise KeyError(f"metric should be one of 'MR', 'AP', 'JI', 'Recall', but got "
                               f"{name!r}.")
        if format_only and outfile_prefix is None:
            raise ValueError("O2FCrowdHumanMetric: format_only=True needs outfile_prefix (the "
                             "result file would go nowhere)")
        if file_client_args is not None:
            raise _refuse("file_client_args", file_client_args,
                          "it is deprecated since mmdet 3.0; use backend_args")
        if backend_args is not None and backend_args != {"backend": "local"}:
            raise _refuse("backend_args", backend_args,
                          "ann_file is read from the local file system; copy it locally and "
                          "pass backend_args=None")
        if eval_mode != 0:
            raise _refuse("eval_mode", eval_mode,
                          "only full-body boxes are evaluated (eval_mode=0)")
        if iou_thres != 0.5:
            raise _refuse("iou_thres", iou_thres, "the CrowdHuman rules match at IoU > 0.5 only")
        if compare_matching_method is not None:
            raise _refuse("compare_matching_method", compare_matching_method,
                          "only the Caltech matching (None, with ignore regions) is implemented")
        if mr_ref not in MR_REFERENCES:
            raise _refuse("mr_ref", mr_ref, f"use one of {sorted(MR_REFERENCES)}")
        if isinstance(num_ji_process, bool) or not isinstance(num_ji_process, int) or \
                num_ji_process < 1:
            raise _refuse("num_ji_process", num_ji_process, "give a positive integer")
        self.ann_file = ann_file
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.backend_args = backend_args
        self.eval_mode, self.iou_thres = eval_mode, iou_thres
        self.compare_matching_method, self.mr_ref = compare_matching_method, mr_ref
        self.num_ji_process = num_ji_process
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
            return f"{prefix}_epoch_{hub.get_info('epoch') + 1}.json"
        return f"{prefix}.json"

    def compute_metrics(self, results: list) -> dict:
        """Write the result file, then evaluate the same records against ``ann_file``."""
        logger = MMLogger.get_current_instance()
        path = self._output_path()
        if path is not None:
            write_result_list(path, results, [self.ann_file])
            logger.info(f"CrowdHuman detections written to {path}")
        if self.format_only:
            return {}
        if self._gt_images is None:
            self._gt_images = load_odgt(self.ann_file, "gt")
        metrics = evaluate(self._gt_images, [
            parse_dt_record(record, path or "<predictions>", index + 1)
            for index, record in enumerate(results)], MR_REFERENCES[self.mr_ref])
        logger.info(
            f"CrowdHuman: {metrics['num_images']} images ({metrics['num_images_without_dt_record']}"
            f" without predictions), {metrics['num_detections']} detections: AP "
            f"{metrics['AP']!r}, mMR {metrics['mMR']!r}, Recall {metrics['Recall']!r}, JI "
            f"{metrics['JI']!r} (best at score > {metrics['JI_threshold']:.1f})")
        key = {"AP": "AP", "MR": "mMR", "JI": "JI", "Recall": "Recall"}
        # Rounded as mmdet's metric rounds, so that both report the same numbers under one name.
        return {METRIC_NAMES[name]: round(float(metrics[key[name]]), 4) for name in self.metrics}


def write_result_list(path: str, records: Sequence[dict], inputs: Sequence[str] = ()) -> None:
    """Write detection records as one JSON list, one record per line (mmdet's result file
    format: ``json.load`` reads it, and so does :func:`o2f_crowd.evaluation.load_odgt`); atomic."""
    from o2f_core.io import atomic_output

    with atomic_output(path, inputs, "result file") as temp_path, \
            open(temp_path, "w", encoding="utf-8") as stream:
        stream.write("[")
        for index, record in enumerate(records):
            stream.write(",\n" if index else "\n")
            stream.write(json.dumps(record, separators=(",", ":")))
        stream.write("\n]\n")
