"""Detection heads and the o2f plug-ins; importing this module registers them into mmdet.

``MODELS``: ``O2FHead``, ``NMSSwitchFCOSHead``, ``O2FSoftFocalLoss``, ``O2FGIoULoss``,
``O2FCenternessBranch``. ``TASK_UTILS``: ``O2FAssigner``, ``POTOAssigner``. The POTO baseline is
``O2FHead`` with ``train_cfg.assigner=dict(type='POTOAssigner')``.
"""

from o2f_core import POTOAssigner  # the pure-torch core (the TASK_UTILS one wraps it)

from .assigners import O2FTaskAssigner, POTOTaskAssigner, o2f_result_from_assign_result
from .centerness_branch import O2FCenternessBranch
from .losses import O2FGIoULoss, O2FSoftFocalLoss
from .nms_switch import NMSSwitchFCOSHead, NMSSwitchMixin
from .o2f_head import O2FHead, O2FHeadMixin

__all__ = ['NMSSwitchFCOSHead', 'NMSSwitchMixin', 'O2FCenternessBranch', 'O2FGIoULoss', 'O2FHead',
           'O2FHeadMixin', 'O2FSoftFocalLoss', 'O2FTaskAssigner', 'POTOAssigner',
           'POTOTaskAssigner', 'o2f_result_from_assign_result']
