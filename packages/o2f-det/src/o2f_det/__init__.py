"""o2f-det: the FCOS-o2f detector, its FCOS / POTO baselines and the shared train/test runners.

Importing the package registers its modules into mmdet's registries (configs name them after
``custom_imports = dict(imports=['o2f_det'], allow_failed_imports=False)``).
"""

import o2f_core.engine  # noqa: F401  (O2FTemperatureHook; checkpoint loading on torch >= 2.6)

from . import models  # noqa: F401  (registers the heads, assigners, losses, centerness branch)
from .models import NMSSwitchFCOSHead, NMSSwitchMixin, O2FHead, O2FHeadMixin, POTOAssigner

__all__ = ['NMSSwitchFCOSHead', 'NMSSwitchMixin', 'O2FHead', 'O2FHeadMixin', 'POTOAssigner']
