"""The o2f centerness branch as an mmdet ``MODELS`` plug-in (a 3D max filter can replace it).

``model.bbox_head.centerness_branch = dict(type='O2FCenternessBranch', num_convs=3,
channels=64)``: ``num_convs`` 3x3 convs in front of the one-channel centerness predictor (paper
Table 5: 1, 2 or 3; the paper uses 3 with 64 channels).
"""

from __future__ import annotations

from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from torch import Tensor, nn

__all__ = ['O2FCenternessBranch']


@MODELS.register_module()
class O2FCenternessBranch(nn.Module):
    """``num_convs`` ConvModules (``ctr_convs``) and a 3x3 predictor with one output channel.

    The head fills ``in_channels`` (its ``feat_channels``), ``conv_cfg``, ``norm_cfg`` and
    ``conv_bias`` from its own settings unless the config sets them. A replacement branch takes
    the same build arguments and maps (B, in_channels, H, W) features to (B, 1, H, W) logits.

    Args:
        in_channels (int): channels of the head's regression (or classification) features.
        num_convs (int): extra convs, 1, 2 or 3.
        channels (int): their output channels.
        conv_cfg, norm_cfg (dict, optional): as mmcv's ConvModule.
        conv_bias (bool | str): bias of the extra convs.
    """

    def __init__(self, in_channels: int, num_convs: int = 3, channels: int = 64,
                 conv_cfg: dict | None = None, norm_cfg: dict | None = None,
                 conv_bias: bool | str = 'auto') -> None:
        super().__init__()
        if not (isinstance(num_convs, int) and 1 <= num_convs <= 3):
            raise ValueError(f'O2FCenternessBranch: num_convs (num_ctr_convs) must be 1, 2 or '
                             f'3 (paper Table 5), got {num_convs!r}')
        self.num_convs, self.channels = num_convs, channels
        convs, width = [], in_channels
        for _ in range(num_convs):
            convs.append(ConvModule(width, channels, 3, padding=1, conv_cfg=conv_cfg,
                                    norm_cfg=norm_cfg, bias=conv_bias))
            width = channels
        self.ctr_convs = nn.Sequential(*convs)
        self.predictor = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, feats: Tensor) -> Tensor:
        """(B, in_channels, H, W) features -> (B, 1, H, W) centerness logits."""
        return self.predictor(self.ctr_convs(feats))
