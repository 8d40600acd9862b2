"""DeFCN's 3D max filtering (Wang et al. 2021, Sec. 3.3) as a cross-level centerness branch.

``model.bbox_head.centerness_branch = dict(type='O2FMaxFilter3D', kernel_size=3, tau=2)``: the
branch reads the regression tower's features of *all* FPN levels (``cross_level = True``, so
:class:`O2FHead` runs it after the towers), takes for every level the maximum over a
``kernel_size x kernel_size`` window and the ``tau // 2`` adjacent levels on each side (those
resized to this level's size), and predicts one logit per point. Its sigmoid gates the class
score, ``p = sigmoid(cls) * sigmoid(filter)``, exactly where the o2f head puts its centerness, so
matching, loss and inference use the gated score as DeFCN's do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS
from torch import Tensor, nn

__all__ = ['O2FMaxFilter3D', 'max_filter_3d']


def max_filter_3d(features: list[Tensor], kernel_size: int = 3, tau: int = 2) -> list[Tensor]:
    """Per level, the maximum over a spatial window and the adjacent levels.

    Level ``l`` stacks levels ``l - tau // 2 .. l + tau // 2`` (those that exist), each other level
    resized bilinearly (half-pixel centres) to level ``l``'s size, and max-pools the stack with a
    ``(tau + 1, kernel_size, kernel_size)`` window (stride 1, padding that never wins), keeping
    the slice of level ``l``.

    Args:
        features (list[Tensor]): per level (B, C, H_l, W_l), finest first.
        kernel_size (int): odd spatial window.
        tau (int): even number of adjacent levels in the window (``tau // 2`` on each side).

    Returns:
        list[Tensor]: per level (B, C, H_l, W_l).
    """
    margin = tau // 2
    outputs = []
    for level, feature in enumerate(features):
        first, last = max(0, level - margin), min(len(features), level + margin + 1)
        stack = [features[k] if k == level else
                 F.interpolate(features[k], size=feature.shape[-2:], mode='bilinear',
                               align_corners=False)
                 for k in range(first, last)]
        pooled = F.max_pool3d(torch.stack(stack, dim=2), kernel_size=(tau + 1, kernel_size,
                                                                      kernel_size),
                              stride=1, padding=(margin, kernel_size // 2, kernel_size // 2))
        outputs.append(pooled[:, :, level - first])
    return outputs


@MODELS.register_module()
class O2FMaxFilter3D(nn.Module):
    """DeFCN's filter branch: conv, 3D max filter, residual, norm, ReLU, then a 1-channel conv.

    Per level ``l``: ``relu(norm(max_filter_3d(conv(x))_l + x_l))`` then a 3x3 predictor, with
    ``conv`` a 3x3 convolution shared by the levels (DeFCN's ``MaxFiltering`` and ``filter``).
    The head fills ``in_channels`` (its ``feat_channels``), ``norm_cfg`` (DeFCN: GN 32; None
    gives their ``3dmf_wo_gn`` variant), ``conv_cfg`` and ``conv_bias``.

    Args:
        in_channels (int): channels of the regression tower's features.
        kernel_size (int): spatial window, odd (DeFCN's FILTER_KERNEL_SIZE 3).
        tau (int): adjacent levels in the window, even (DeFCN's FILTER_TAU 2: one on each side).
        conv_cfg (dict, optional): unused by DeFCN's plain convs; accepted for the head's call.
        norm_cfg (dict, optional): normalisation after the residual.
        conv_bias (bool | str): unused (DeFCN's convs have a bias); accepted for the head's call.
    """

    cross_level = True  # forward takes the list of all levels

    def __init__(self, in_channels: int, kernel_size: int = 3, tau: int = 2,
                 conv_cfg: dict | None = None, norm_cfg: dict | None = None,
                 conv_bias: bool | str = 'auto') -> None:
        super().__init__()
        for name, value, odd in (('kernel_size', kernel_size, 1), ('tau', tau, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 or \
                    value % 2 != odd:
                raise ValueError(f'O2FMaxFilter3D: {name} must be {"an odd" if odd else "an even"}'
                                 f' non-negative integer, got {value!r}')
        self.kernel_size, self.tau = kernel_size, tau
        self.conv = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self.norm = build_norm_layer(norm_cfg, in_channels)[1] if norm_cfg else nn.Identity()
        self.predictor = nn.Conv2d(in_channels, 1, 3, padding=1)

    def extra_repr(self) -> str:
        return f'kernel_size={self.kernel_size}, tau={self.tau}'

    def forward(self, features: list[Tensor]) -> list[Tensor]:
        """Per level (B, in_channels, H_l, W_l) features -> per level (B, 1, H_l, W_l) logits."""
        filtered = max_filter_3d([self.conv(x) for x in features], self.kernel_size, self.tau)
        return [self.predictor(F.relu(self.norm(f + x)))
                for f, x in zip(filtered, features, strict=True)]
