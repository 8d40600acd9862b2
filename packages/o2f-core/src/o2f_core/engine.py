"""mmengine integration of o2f-core: the temperature hook, the non-finite loss stop and safe,
strict checkpoint loading.

Importing this module (the det/seg/crowd packages do it on import) registers
``O2FTemperatureHook``, ``O2FTrainEpochHook`` and ``O2FFiniteLossHook`` in mmengine's HOOKS
registry (reachable from the ``mmdet`` scope) and changes nothing else.
:func:`install_checkpoint_support`, called explicitly by the runners and loaders (train, test,
eval_crowd, visualize, demo, export), makes mmengine 0.10.7 able to load its own checkpoints on
torch >= 2.6 without turning off torch's ``weights_only`` safety check:

* torch >= 2.6 loads with ``weights_only=True``. mmengine checkpoints hold numpy arrays/scalars and
  ``HistoryBuffer`` objects of the MessageHub. We allow-list exactly those types while loading.
* A ``HistoryBuffer`` pickles its dict of statistics functions (``HistoryBuffer.min`` ...), which
  pickle protocol 2 writes as ``getattr(HistoryBuffer, 'min')``. Allowing ``builtins.getattr`` would
  let a crafted checkpoint reach any attribute of any allowed object (and from there arbitrary
  code), so instead new checkpoints are written without those functions: mmengine re-registers
  the default ones when it unpickles a buffer, so nothing is lost.
* A checkpoint written by stock mmengine still contains ``getattr``. It fails with one clear
  message; ``O2F_TRUST_CHECKPOINTS=1`` loads such a file you trust with ``weights_only=False``.
  Only a well-formed checkpoint that really holds such objects gets that advice: an empty,
  truncated or otherwise broken file is "not a valid checkpoint" (:class:`CheckpointError`).
* Inference entry points load with :func:`load_checkpoint_strict`: a checkpoint whose keys do not
  cover the model (another detector's, an ImageNet backbone's) is refused, so a wrong model never
  produces a real-looking result; ``allow_partial=True`` (``--allow-partial``) loads it anyway and
  says what was not loaded.
"""

from __future__ import annotations

import collections
import math
import os
import os.path as osp
import pickle
import re
import sys
import zipfile
from collections.abc import Mapping

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import CheckpointLoader

from .schedule import iteration_temperature, linear_temperature

__all__ = ["O2FTemperatureHook", "O2FFiniteLossHook", "NonFiniteLossError",
           "set_model_temperature", "checkpoint_safe_globals", "load_local_checkpoint",
           "load_checkpoint_strict", "CheckpointError", "UntrustedCheckpointError",
           "CheckpointMismatchError", "TRUST_ENV", "install_checkpoint_support",
           "checkpoint_support_installed"]

TRUST_ENV = "O2F_TRUST_CHECKPOINTS"


def _call_on_submodules(model: torch.nn.Module, method: str, value) -> int:
    """Call ``method(value)`` on every submodule of ``model`` (unwrapped from DDP) that defines
    it; returns how many did."""
    if is_model_wrapper(model):
        model = model.module
    count = 0
    for module in model.modules():
        setter = getattr(module, method, None)
        if callable(setter):
            setter(value)
            count += 1
    return count


def set_model_temperature(model: torch.nn.Module, temperature: float) -> int:
    """Call ``set_temperature(temperature)`` on every submodule that defines it.

    Returns:
        int: how many modules took the value (0 means the model has no o2f head).
    """
    return _call_on_submodules(model, "set_temperature", temperature)


@HOOKS.register_module()
class O2FTemperatureHook(Hook):
    """Sets the o2f temperature T of the model's heads from the runner's progress.

    Stateless: T is a function of ``runner.epoch`` (``by_epoch=True``: constant within an epoch,
    ``t_max`` in the first and ``t_min`` in the last) or of ``runner.iter`` (``by_epoch=False``, for
    iteration-based loops), so a resumed run gets the right T without any saved state. The value is
    also logged as ``o2f_temperature``.

    T by name: a top-level config key ``o2f_temperature = dict(t_max=..., t_min=...)`` (either
    or both), when the config has one, overrides the hook's arguments at the start of the run, so
    an ablation sets T with ``--cfg-options +o2f_temperature.t_max=0.8`` instead of an index into
    ``custom_hooks``.

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

    def before_run(self, runner) -> None:
        named = (getattr(runner, "cfg", None) or {}).get("o2f_temperature")
        if not named:
            return
        unknown = set(named) - {"t_max", "t_min"}
        if unknown:
            raise ValueError(f"o2f_temperature: unknown key(s) {', '.join(sorted(unknown))}; "
                             "use o2f_temperature=dict(t_max=..., t_min=...)")
        self.__init__(named.get("t_max", self.t_max), named.get("t_min", self.t_min),
                      self.by_epoch)

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


def set_model_train_epoch(model: torch.nn.Module, epoch: int) -> int:
    """Call ``set_train_epoch(epoch)`` on every submodule that defines it; returns how many."""
    return _call_on_submodules(model, "set_train_epoch", epoch)


@HOOKS.register_module()
class O2FTrainEpochHook(Hook):
    """Tells the model's heads the current training epoch (0-based) before every epoch.

    Stateless like :class:`O2FTemperatureHook` (a resumed run gets the right epoch). The head
    decides what the epoch means: the Hybrid-Epoch head (``O2FHybridEpochHead``) trains one-to-many
    before ``model.train_cfg.switch_epoch`` and one-to-one from it on.
    """

    priority = "NORMAL"

    def before_train_epoch(self, runner) -> None:
        if set_model_train_epoch(runner.model, runner.epoch) == 0:
            raise RuntimeError("O2FTrainEpochHook: the model has no module with "
                               "set_train_epoch(); remove the hook or use a head that has one "
                               "(e.g. O2FHybridEpochHead)")


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


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file and the fix."""


class UntrustedCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A well-formed checkpoint holding objects outside o2f's allow-list."""


class CheckpointMismatchError(CheckpointError):
    """A valid checkpoint whose weights do not cover the model (another model's checkpoint)."""


def _first_line(error: BaseException) -> str:
    """The first sentence of an error message (torch's run over several lines)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0].split(". ")[0].rstrip(".") if lines else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _invalid(filename: str, error: BaseException) -> CheckpointError:
    kind = ("a damaged torch.save archive" if zipfile.is_zipfile(filename)
            else "not a torch.save file (truncated, text or random bytes?)")
    return CheckpointError(f"not a valid checkpoint: {filename} ({kind}: "
                           f"{_first_line(_root_cause(error))})")


def _disallowed_globals(filename: str) -> list[str] | None:
    """Globals of a zip checkpoint outside the allow-list; None when it is not a readable one."""
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # not a zip archive, truncated, corrupt pickle
        return None
    allowed = {f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
               for obj in checkpoint_safe_globals()}
    return [name for name in unsafe if name not in allowed]


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` and the mmengine allow-list.

    Returns:
        dict: the checkpoint (mmengine's loaders all expect a dict).

    Raises:
        FileNotFoundError: no such file.
        UntrustedCheckpointError: a well-formed checkpoint holding other objects (one line saying
            how to proceed), unless ``O2F_TRUST_CHECKPOINTS=1`` is set.
        CheckpointError: an empty, truncated or corrupt file, or one that holds no dict:
            ``not a valid checkpoint: FILE (reason)``.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f"checkpoint {filename} does not exist")
    if osp.getsize(filename) == 0:
        raise CheckpointError(f"not a valid checkpoint: {filename} (empty file)")
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            checkpoint = torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        disallowed = _disallowed_globals(filename)
        if not disallowed:  # not even a readable checkpoint: safety advice would be wrong
            raise _invalid(filename, error) from None
        if os.environ.get(TRUST_ENV) != "1":
            raise UntrustedCheckpointError(
                f"checkpoint {filename} holds objects outside o2f's allow-list (GLOBAL "
                f"{disallowed[0]}); if you trust the file, set {TRUST_ENV}=1 to load it with "
                "weights_only=False") from None
        try:
            checkpoint = torch.load(filename, map_location=map_location, weights_only=False)
        except Exception as trusted_error:
            raise _invalid(filename, trusted_error) from None
    except Exception as error:  # truncated zip, random bytes, text, ...
        raise _invalid(filename, error) from None
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"not a valid checkpoint: {filename} (it holds a "
                              f"{type(checkpoint).__name__}, not a dict of weights)")
    return checkpoint


def _root_cause(error: BaseException) -> BaseException:
    """torch wraps the real reason ("Invalid magic number", ...) in a long weights_only notice."""
    text = str(error)
    match = re.search(r"(?:Unpickling error|Unsupported operand|Invalid load key)[^\n]*", text)
    if match:
        return pickle.UnpicklingError(match.group(0))
    return error


# BatchNorm's step counter is not a weight: checkpoints from older code or torchvision lack it.
HARMLESS_KEY_SUFFIXES = ("num_batches_tracked",)
_LISTED_KEYS = 3  # keys named in a mismatch message


def checkpoint_state_dict(checkpoint: Mapping, filename: str) -> dict:
    """The weights of an mmengine/torch checkpoint: its ``state_dict`` or the dict itself.

    Raises:
        CheckpointError: no tensor in it (e.g. a dict of metadata only).
    """
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"not a valid checkpoint: {filename} (its state_dict is a "
                              f"{type(state).__name__}, not a dict of weights)")
    # mmengine strips the DDP wrapper's prefix the same way (revise_keys)
    state = {re.sub(r"^module\.", "", str(key)): value for key, value in state.items()}
    if not any(isinstance(value, torch.Tensor) for value in state.values()):
        raise CheckpointError(f"not a valid checkpoint: {filename} (no weights: neither a "
                              "state_dict nor tensors in it)")
    return state


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED_KEYS])
    return shown + (", ..." if len(keys) > _LISTED_KEYS else "")


def load_checkpoint_strict(model: torch.nn.Module, filename: str, allow_partial: bool = False,
                           map_location="cpu", checkpoint: Mapping | None = None) -> dict:
    """Load ``filename`` into ``model`` for inference, refusing weights of another model.

    Every weight of the model must be in the checkpoint with the same shape, and the checkpoint
    must hold nothing else (BatchNorm's ``num_batches_tracked`` aside). With ``allow_partial``
    the matching weights are loaded and one warning line on stderr says what was not.

    Args:
        model (nn.Module): the model (a DDP wrapper is unwrapped).
        filename (str): a local checkpoint path (or any mmengine checkpoint URI).
        allow_partial (bool): accept a checkpoint that covers the model only in part.
        map_location: as in ``torch.load``.
        checkpoint (Mapping, optional): the already loaded content of ``filename`` (callers
            that validate the file before building the model pass it to avoid a second read).

    Returns:
        dict: the loaded checkpoint (``meta`` etc. for the caller).

    Raises:
        CheckpointError: corrupt file, untrusted objects (:class:`UntrustedCheckpointError`) or
            keys/shapes that do not match (:class:`CheckpointMismatchError`); one-line messages.
    """
    if is_model_wrapper(model):
        model = model.module
    try:
        if checkpoint is not None:
            pass
        elif osp.isfile(osp.expanduser(filename)):  # local: no "Loads checkpoint by" log line
            checkpoint = load_local_checkpoint(filename, map_location=map_location)
        else:
            checkpoint = CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    except FileNotFoundError as error:
        raise CheckpointError(f"checkpoint not found: {filename}") from error
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"not a valid checkpoint: {filename} (it holds a "
                              f"{type(checkpoint).__name__}, not a dict of weights)")
    state = checkpoint_state_dict(checkpoint, filename)
    expected = model.state_dict()

    def harmless(key: str) -> bool:
        return key.endswith(HARMLESS_KEY_SUFFIXES)

    missing = [key for key in expected if key not in state and not harmless(key)]
    unexpected = [key for key in state if key not in expected and not harmless(key)]
    mismatched = [key for key in expected if key in state and isinstance(state[key], torch.Tensor)
                  and tuple(state[key].shape) != tuple(expected[key].shape)]
    problems = []
    if missing:
        problems.append(f"{len(missing)} of the model's {len(expected)} weights missing "
                        f"({_listed(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys ({_listed(unexpected)})")
    if mismatched:
        first = mismatched[0]
        problems.append(f"{len(mismatched)} shape mismatches ({first}: checkpoint "
                        f"{tuple(state[first].shape)}, model {tuple(expected[first].shape)}"
                        f"{', ...' if len(mismatched) > 1 else ''})")
    if problems and not allow_partial:
        raise CheckpointMismatchError(
            f"checkpoint {filename} does not match the model: {'; '.join(problems)}; is it a "
            "checkpoint of this config? pass --allow-partial to load the matching weights anyway")
    usable = {key: value for key, value in state.items()
              if key in expected and key not in mismatched}
    model.load_state_dict(usable, strict=False)
    if problems:
        print(f"warning: partial load of {filename}: {'; '.join(problems)} "
              "(not loaded: the missing and mismatched weights keep their initial values)",
              file=sys.stderr, flush=True)
    return dict(checkpoint)


# ---------------------------------------------------------------------------------------------
# Non-finite losses


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN/inf loss; the message is one line (iteration and loss term)."""


def _non_finite_term(log_vars: Mapping) -> tuple[str, float] | None:
    """The first loss term (the total ``loss`` last) whose value is NaN or inf."""
    items = [(name, value) for name, value in log_vars.items() if name != "loss"]
    if "loss" in log_vars:
        items.append(("loss", log_vars["loss"]))
    for name, value in items:
        if isinstance(value, torch.Tensor):
            if value.numel() == 0 or bool(torch.isfinite(value.detach()).all()):
                continue
            return name, float(value.detach().float().mean())
        if isinstance(value, float | int) and not math.isfinite(value):
            return name, float(value)
    return None


@HOOKS.register_module()
class O2FFiniteLossHook(Hook):
    """Stops training at the first non-finite loss and never saves non-finite weights.

    The training runner of every o2f task (det, seg, crowd) adds it, so FCOS, POTO, CondInst and
    o2f models all stop the same way. The check runs right after the iteration, before the
    checkpoint hook (priority VERY_HIGH), so no checkpoint is written once a loss is NaN/inf;
    ``before_save_checkpoint`` also refuses weights that became non-finite without a NaN loss.
    """

    priority = "VERY_HIGH"

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not isinstance(outputs, Mapping):
            return
        found = _non_finite_term(outputs)
        if found is not None:
            name, value = found
            raise NonFiniteLossError(
                f"training stopped: non-finite loss {name} = {value} at iteration "
                f"{runner.iter + 1} (epoch {runner.epoch + 1}); no checkpoint was saved after it; "
                "lower the learning rate (optim_wrapper.optimizer.lr) or check the data")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key, value in (checkpoint.get("state_dict") or {}).items():
            if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(
                    torch.isfinite(value).all()):
                raise NonFiniteLossError(
                    f"training stopped: weight {key} is NaN/inf at iteration {runner.iter} "
                    f"(epoch {runner.epoch}); the checkpoint was not saved; lower the learning "
                    "rate (optim_wrapper.optimizer.lr)")


def checkpoint_support_installed() -> bool:
    """Whether :func:`install_checkpoint_support` has run in this process."""
    return (HistoryBuffer.__dict__.get("__getstate__") is _history_buffer_getstate
            and CheckpointLoader._schemes.get("") is load_local_checkpoint)  # noqa: SLF001


def install_checkpoint_support() -> None:
    """Let mmengine save and resume checkpoints that torch >= 2.6 loads with ``weights_only``.

    Two process-wide changes (see the module docstring), made explicitly by the entry points that
    save or load checkpoints, never at import: ``HistoryBuffer`` pickles without its statistics
    functions, and mmengine's local-file checkpoint loader becomes :func:`load_local_checkpoint`
    (the allow-list). Idempotent: a second call changes nothing.
    """
    if checkpoint_support_installed():
        return
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    # mmengine resolves a path by its prefix; '' is its local-file loader, which calls torch.load
    # without weights_only. Replacing that scheme is mmengine's own mechanism for new loaders (it
    # needs force=True: the scheme exists already); done once, on request.
    CheckpointLoader.register_scheme(prefixes="", loader=load_local_checkpoint, force=True)


# Registration: O2FDualNMSValLoop (LOOPS) and O2FDuplicateRateMetric (METRICS).
from . import dual_nms, duplicate_metric  # noqa: E402,F401
