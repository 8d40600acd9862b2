"""o2f-det: the FCOS-o2f detector and its FCOS / POTO baselines.

Importing the package registers its modules into mmdet's registries (configs name them after
``custom_imports = dict(imports=['o2f_det'], allow_failed_imports=False)``) and nothing else: the
checkpoint support is installed by the runners (:func:`o2f_core.engine.install_checkpoint_support`).
The train/test runners and the synthetic data live in ``o2f_core`` (``train_runner``,
``eval_runner``, ``cli``, ``synthetic``).
"""

import o2f_core.engine  # noqa: F401  (registers O2FTemperatureHook, O2FFiniteLossHook)

from . import models  # noqa: F401  (registers the heads, assigners, losses, centerness branch)
from .models import NMSSwitchFCOSHead, NMSSwitchMixin, O2FHead, O2FHeadMixin, POTOAssigner

__all__ = ['NMSSwitchFCOSHead', 'NMSSwitchMixin', 'O2FHead', 'O2FHeadMixin', 'POTOAssigner']
