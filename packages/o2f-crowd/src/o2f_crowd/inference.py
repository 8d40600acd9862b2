"""Run a CrowdHuman model on its test set and write the detections ``.odgt`` (for eval_crowd.py).

torch, mmengine and mmdet are imported inside :func:`detect_to_odgt`, so ``o2f_crowd`` itself
stays importable without them.
"""

from __future__ import annotations

import os
import os.path as osp

__all__ = ["InferenceError", "detect_to_odgt"]


class InferenceError(Exception):
    """A user error in model mode (bad config, a missing/broken checkpoint or one of another
    model); printed as one line."""


def _annotation_path(cfg) -> str:
    dataset = cfg.test_dataloader.dataset
    ann_file = dataset.get("ann_file")
    data_root = dataset.get("data_root") or ""
    if not ann_file:
        raise InferenceError("the config's test_dataloader.dataset has no ann_file; pass --gt")
    return ann_file if osp.isabs(ann_file) else osp.join(data_root, ann_file)


def detect_to_odgt(config: str, checkpoint: str, out_path: str,
                   cfg_options: list[str] | None = None, box_decimals: int = 2,
                   other_outputs: dict[str, str] | None = None,
                   allow_partial: bool = False) -> str:
    """Run ``config`` with ``checkpoint`` over its test dataloader and write ``out_path``.

    The device is mmengine's choice (CUDA when available, else CPU). Predictions are in
    original-image pixels (mmdet rescales them); the file is written atomically at the end.

    Args:
        config (str): A ``configs/crowd/`` config.
        checkpoint (str): Model weights.
        out_path (str): The detections ``.odgt`` to write.
        cfg_options (list[str], optional): ``KEY=VALUE`` overrides, as ``--cfg-options``.
        box_decimals (int): Rounding of the written box coordinates.
        other_outputs (dict[str, str], optional): ``{flag: path}`` of files the caller writes
            afterwards (e.g. ``{"--json": "m.json"}``), checked like ``out_path`` before
            inference.
        allow_partial (bool): Accept a checkpoint that does not cover the model (otherwise it
            is refused: no detections from the wrong model).

    Returns:
        str: The test annotation file named by the config (``data_root`` + ``ann_file``).

    Raises:
        InferenceError: Missing files, a config that is not a crowd config, bad options, an
            output that is a folder or the same file as an input (config, checkpoint, gt).
    """
    # Path mistakes are reported before the (slow) torch/mmdet imports.
    if not osp.isfile(config):
        raise InferenceError(f"config file not found: {config}; pass a configs/crowd/ config")
    if not osp.isfile(checkpoint):
        raise InferenceError(f"checkpoint not found: {checkpoint}; pass the .pth written by "
                             "tools/train.py crowd")
    from mmengine.runner import Runner

    from o2f_core.cli import CliError, default_work_dir, load_task_config, parse_cfg_options
    from o2f_core.io import UnsafeOutputError, check_output_path

    from .evaluation import detection_record, write_odgt

    try:
        cfg = load_task_config(config, "crowd", parse_cfg_options(cfg_options))
    except CliError as error:
        raise InferenceError(str(error)) from None
    if cfg.get("work_dir") is None:
        cfg.work_dir = default_work_dir(config)
    cfg.load_from = None  # loaded explicitly below; the Runner would only load it in test()
    gt_path = _annotation_path(cfg)
    inputs = [config, checkpoint, gt_path]
    try:  # before inference: never run for minutes, then overwrite an input
        for what, path in [("--dt", out_path), *(other_outputs or {}).items()]:
            check_output_path(path, inputs, what)
    except UnsafeOutputError as error:
        raise InferenceError(str(error)) from None

    from o2f_core.engine import (
        CheckpointError,
        install_checkpoint_support,
        load_checkpoint_strict,
        load_local_checkpoint,
    )
    from o2f_core.eval_runner import collect_predictions

    install_checkpoint_support()

    try:  # a broken file is reported before the (slow) model build
        loaded = load_local_checkpoint(checkpoint, map_location="cpu")
    except CheckpointError as error:
        raise InferenceError(str(error)) from None
    runner = Runner.from_cfg(cfg)
    try:
        load_checkpoint_strict(runner.model, checkpoint, allow_partial, checkpoint=loaded)
    except CheckpointError as error:
        raise InferenceError(str(error)) from None
    dataloader = runner.build_dataloader(cfg.test_dataloader)
    records = [detection_record(pred["img_id"], *pred["ori_shape"], pred["bboxes"],
                                pred["scores"], box_decimals)
               for pred in collect_predictions(runner.model, dataloader)]
    try:
        write_odgt(out_path, records, inputs, "--dt")
    except UnsafeOutputError as error:  # the path changed during inference
        raise InferenceError(str(error)) from None
    print(f"{len(records)} images' detections written to {os.fspath(out_path)}")
    return gt_path
