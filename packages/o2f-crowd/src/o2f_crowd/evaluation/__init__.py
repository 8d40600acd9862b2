"""CrowdHuman evaluation (AP, mMR, Recall, JI) in float64 numpy: usable without torch or mmdet.

``load_odgt`` parses and validates files with line-numbered :class:`OdgtFormatError` s; ``evaluate``
works on parsed images or raw in-memory records, so the mmengine metric and the CLI share it.
The rules and every decision the reference leaves open are listed in :mod:`.crowd_eval`.
"""

from .crowd_eval import (
    JI_SCORE_THRESHOLDS,
    MR_REFERENCE_FPPI,
    MR_REFERENCE_FPPI_4,
    clip_boxes,
    eligible_pairs,
    evaluate,
    greedy_match,
    max_weight_matching,
    pairwise_ioa,
    pairwise_iou,
)
from .odgt import (
    DtImage,
    GtImage,
    OdgtFormatError,
    detection_record,
    load_gt_and_dt,
    load_odgt,
    parse_dt_record,
    parse_gt_record,
    read_odgt_records,
    write_odgt,
)

__all__ = [
    "JI_SCORE_THRESHOLDS",
    "MR_REFERENCE_FPPI",
    "MR_REFERENCE_FPPI_4",
    "DtImage",
    "GtImage",
    "OdgtFormatError",
    "clip_boxes",
    "detection_record",
    "eligible_pairs",
    "evaluate",
    "greedy_match",
    "load_gt_and_dt",
    "load_odgt",
    "max_weight_matching",
    "pairwise_ioa",
    "pairwise_iou",
    "parse_dt_record",
    "parse_gt_record",
    "read_odgt_records",
    "write_odgt",
]
