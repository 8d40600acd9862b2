"""The NMS-free selection: the best ``k`` (point, class) pairs by joint score, in one ``topk``.

One function serves :class:`~o2f_det.models.O2FHead`'s predict and the ONNX export, so the
exported graph selects exactly as the PyTorch model does. ``k`` is a Python int: it becomes a
constant of the graph (TensorRT's TopK needs a constant K).
"""

from __future__ import annotations

import torch
from torch import Tensor


def nms_free_topk(scores: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """The ``k`` best entries of each image's (points x classes) score table.

    Args:
        scores (Tensor): (B, N, C) joint scores of N points and C classes.
        k (int): entries kept per image, 1 <= k <= N * C.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``scores`` (B, k) descending, ``point_index`` (B, k) in
        [0, N) and ``labels`` (B, k) in [0, C), both int64.
    """
    num_classes = scores.shape[-1]
    top_scores, flat_index = scores.flatten(1).topk(k, dim=1)
    point_index = torch.div(flat_index, num_classes, rounding_mode='floor')
    labels = flat_index - point_index * num_classes
    return top_scores, point_index, labels
