"""o2f-seg: CondInst with one-to-few label assignment, mask-aware matching and NMS-free masks.

Importing the package registers ``O2FCondInst``, ``O2FCondInstBboxHead`` and
``O2FCondInstMaskHead`` in mmdet's MODELS registry (configs list ``'o2f_seg'`` in
``custom_imports``), and, through ``o2f_det``, the o2f hooks and checkpoint support.
"""

import o2f_det  # noqa: F401  (seg builds on det: hooks, NMS switch, checkpoint loading)

from . import models  # noqa: F401  (registration)

__version__ = '0.1.0'
