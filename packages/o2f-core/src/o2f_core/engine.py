"""mmengine integration of o2f-core: the temperature hook and safe checkpoint loading.

Importing this module (the det/seg/crowd packages do it on import) registers
``O2FTemperatureHook`` in mmengine's HOOKS registry (reachable from the ``mmdet`` scope) and makes
mmengine 0.10.7 able to load its own checkpoints on torch >= 2.6 without turning off torch's
``weights_only`` safety check:

* torch >= 2.6 loads with ``weights_only=True``. mmengine checkpoints hold numpy arrays/scalars and
  ``HistoryBuffer`` objects of the MessageHub. We allow-list exactly those types while loading.
* A ``HistoryBuffer`` pickles its dict of statistics functions (``HistoryBuffer.min`` ...), which
  pickle protocol 2 writes as ``getattr(HistoryBuffer, 'min')``. Allowing ``builtins.getattr`` would
  let a crafted checkpoint reach any attribute of any allowed object (and from there arbitrary
  code), so instead new checkpoints are written without those functions: mmengine re-registers
  the default ones when it unpickles a buffer, so nothing is lost.
* A checkpoint written by stock mmengine still contains ``getattr``. It fails with one clear
  message; ``O2F_TRUST_CHECKPOINTS=1`` loads such a file you trust with ``weights_only=False``.
"""

from __future__ import annotations

import collections
import os
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import CheckpointLoader

from .schedule import iteration_temperature, linear_temperature

__all__ = ["O2FTemperatureHook", "set_model_temperature", "checkpoint_safe_globals",
           "load_local_checkpoint", "TRUST_ENV"]

TRUST_ENV = "O2F_TRUST_CHECKPOINTS"


def set_model_temperature(model: torch.nn.Module, temperature: float) -> int:
    """Call ``set_temperature(temperature)`` on every submodule that defines it.

    Returns:
        int: how many modules took the value (0 means the model has no o2f head).
    """
    if is_model_wrapper(model):
        model = model.module
    count = 0
    for module in model.modules():
        setter = getattr(module, "set_temperature", None)
        if callable(setter):
            setter(temperature)
            count += 1
    return count


@HOOKS.register_module()
class O2FTemperatureHook(Hook):
    """Sets the o2f temperature T of the model's heads from the runner's progress.

    Stateless: T is a function of ``runner.epoch`` (``by_epoch=True``: constant within an epoch,
    ``t_max`` in the first and ``t_min`` in the last) or of ``runner.iter`` (``by_epoch=False``, for
    iteration-based loops), so a resumed run gets the right T without any saved state. The value is
    also logged as ``o2f_temperature``.

    Args:
        t_max (float): T of the first epoch/iteration.
        t_min (float): T of the last epoch/iteration.
        by_epoch (bool): follow epochs (True) or iterations (False).
    """

    priority = "NORMAL"

    def __init__(self, t_max: float = 0.6, t_min: float = 0.2, by_epoch: bool = True):
        if not 0.0 <= t_min <= 1.0 or not 0.0 <= t_max <= 1.0:
            raise ValueError(f"O2FTemperatureHook: t_max and t_min must lie in [0, 1], got "
                             f"t_max={t_max}, t_min={t_min}")
        self.t_max, self.t_min, self.by_epoch = float(t_max), float(t_min), bool(by_epoch)

    def temperature(self, runner) -> float:
        if self.by_epoch:
            return linear_temperature(min(runner.epoch, runner.max_epochs - 1), runner.max_epochs,
                                      self.t_max, self.t_min)
        return iteration_temperature(min(runner.iter, runner.max_iters - 1), runner.max_iters,
                                     self.t_max, self.t_min)

    def _apply(self, runner) -> None:
        value = self.temperature(runner)
        if set_model_temperature(runner.model, value) == 0:
            raise RuntimeError("O2FTemperatureHook: the model has no module with "
                               "set_temperature(); remove the hook or use an o2f head")
        runner.message_hub.update_scalar("train/o2f_temperature", value)

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._apply(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self.by_epoch:
            self._apply(runner)
        else:  # keep the logged value visible on every logging interval
            runner.message_hub.update_scalar("train/o2f_temperature", self.temperature(runner))


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _history_buffer_getstate(self) -> dict:
    """``HistoryBuffer.__getstate__`` without the statistics functions (see module docstring)."""
    state = dict(self.__dict__)
    state.pop("statistics_methods", None)
    return state


def checkpoint_safe_globals() -> list:
    """The types an mmengine 0.10.7 checkpoint pickles, besides what torch allows by default."""
    allowed = [collections.OrderedDict, HistoryBuffer, np.ndarray, np.dtype,
               type(np.dtype(np.float64)), type(np.dtype(np.float32)), type(np.dtype(np.int64)),
               type(np.dtype(np.int32)), type(np.dtype(np.bool_))]
    try:  # numpy >= 2 moved the reconstructors to numpy._core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    import _codecs

    allowed += [_reconstruct, scalar, _codecs.encode]
    return allowed


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` and the mmengine allow-list.

    Raises:
        pickle.UnpicklingError: the file holds other objects (one line saying how to proceed),
            unless ``O2F_TRUST_CHECKPOINTS=1`` is set.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f"checkpoint {filename} does not exist")
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if os.environ.get(TRUST_ENV) == "1":
            return torch.load(filename, map_location=map_location, weights_only=False)
        detail = str(error).split("\n")
        reason = next((line.strip() for line in detail if "GLOBAL" in line), detail[0])
        raise pickle.UnpicklingError(
            f"checkpoint {filename} holds objects outside o2f's allow-list ({reason}); if you "
            f"trust the file, set {TRUST_ENV}=1 to load it with weights_only=False") from None


def _install_checkpoint_support() -> None:
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    # mmengine resolves a path by its prefix; '' is its local-file loader, which calls torch.load
    # without weights_only. Replacing that scheme is mmengine's own mechanism for new loaders.
    CheckpointLoader.register_scheme(prefixes="", loader=load_local_checkpoint, force=True)


_install_checkpoint_support()
