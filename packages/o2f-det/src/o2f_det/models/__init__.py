"""Detection heads; importing this module registers them into ``mmdet.registry.MODELS``."""

from .nms_switch import NMSSwitchFCOSHead, NMSSwitchMixin
from .o2f_head import O2FHead, O2FHeadMixin
from .poto import POTOAssigner, POTOHead

__all__ = ['NMSSwitchFCOSHead', 'NMSSwitchMixin', 'O2FHead', 'O2FHeadMixin', 'POTOAssigner',
           'POTOHead']
