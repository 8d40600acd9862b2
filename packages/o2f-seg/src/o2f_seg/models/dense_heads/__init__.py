from .o2f_condinst_bbox_head import (
                                     NMSSwitchCondInstBboxHead,
                                     O2FCondInstBboxHead,
)
from .o2f_condinst_mask_head import O2FCondInstMaskHead

__all__ = ['NMSSwitchCondInstBboxHead', 'O2FCondInstBboxHead', 'O2FCondInstMaskHead']
