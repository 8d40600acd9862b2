"""Detection heads and the o2f plug-ins; importing this module registers them into mmdet.

``MODELS``: ``O2FHead``, ``NMSSwitchFCOSHead``, ``O2FAuxLossHead``, ``O2FHybridEpochHead``,
``O2FSoftFocalLoss``, ``O2FGIoULoss``, ``O2FCenternessBranch``, ``O2FMaxFilter3D``.
``TASK_UTILS``: ``O2FAssigner``, ``POTOAssigner``, ``QualityATSSAssigner``,
``QualityTopkAssigner``, ``FCOSAssigner``. The POTO baseline is ``O2FHead`` with
``train_cfg.assigner=dict(type='POTOAssigner')``; POTO + 3DMF adds
``centerness_branch=dict(type='O2FMaxFilter3D')``.
"""

from o2f_core import POTOAssigner  # the pure-torch core (the TASK_UTILS one wraps it)

from .assigners import O2FTaskAssigner, POTOTaskAssigner, o2f_result_from_assign_result
from .baseline_heads import O2FAuxLossHead, O2FHybridEpochHead
from .centerness_branch import O2FCenternessBranch
from .losses import O2FGIoULoss, O2FSoftFocalLoss
from .max_filter_3d import O2FMaxFilter3D, max_filter_3d
from .nms_switch import NMSSwitchFCOSHead, NMSSwitchMixin
from .o2f_head import O2FHead, O2FHeadMixin
from .one_to_many import FCOSAssigner, QualityATSSAssigner, QualityTopkAssigner

__all__ = ['FCOSAssigner', 'NMSSwitchFCOSHead', 'NMSSwitchMixin', 'O2FAuxLossHead',
           'O2FCenternessBranch', 'O2FGIoULoss', 'O2FHead', 'O2FHeadMixin',
           'O2FHybridEpochHead', 'O2FMaxFilter3D', 'O2FSoftFocalLoss', 'O2FTaskAssigner',
           'POTOAssigner', 'POTOTaskAssigner', 'QualityATSSAssigner', 'QualityTopkAssigner',
           'max_filter_3d', 'o2f_result_from_assign_result']
