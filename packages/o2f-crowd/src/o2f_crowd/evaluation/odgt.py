"""Reading, validating and writing CrowdHuman ``.odgt`` files (numpy + stdlib; msgspec if present).

An ``.odgt`` file holds one JSON object per line. Ground-truth lines look like
``{"ID", "height", "width", "gtboxes": [{"tag", "fbox": [x, y, w, h], "extra": {"ignore"}}]}``
and detection lines like
``{"ID", "height", "width", "dtboxes": [{"box": [x, y, w, h], "score", "tag"}]}``.

Every problem is reported as an :class:`OdgtFormatError` naming the file (or in-memory source)
and the 1-based line, what is wrong and how to fix it, so that a CLI can print it as one line.

Decisions where the community reference is silent (see :mod:`.crowd_eval` for the full list):

* A gt box is a **person** only if its ``tag`` is exactly ``"person"`` and ``extra.ignore`` is
  missing or zero; every other box (``"mask"``, any other tag, ``extra.ignore`` non-zero) is an
  **ignore region**. ``hbox``, ``vbox`` and ``head_attr`` are not read, so they may be absent.
* ``height``/``width`` are optional on both sides (the official CrowdHuman annotation files have
  none); the evaluator clips with the gt record's size, else the detection record's, else it
  raises.
* Boxes must be 4 finite numbers with ``w, h >= 0`` (zero-size boxes are legal); scores must be
  finite (``true``/``false`` are not numbers; an integer beyond float64 is not finite). The
  detection ``tag`` is not read: every detection is a person (one-class evaluation).
* Blank lines are skipped (line numbers still count them); IDs are unique strings within a file.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import math
import multiprocessing
import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

try:  # the typed decoder (pinned); without it the plain json path reads everything
    import msgspec
except ImportError:  # pragma: no cover
    msgspec = None

__all__ = [
    "DtImage",
    "GtImage",
    "OdgtFormatError",
    "detection_record",
    "load_gt_and_dt",
    "load_odgt",
    "parse_dt_record",
    "parse_gt_record",
    "read_odgt_records",
    "write_odgt",
]


class OdgtFormatError(ValueError):
    """Malformed or inconsistent ``.odgt`` input.

    Attributes:
        source (str): The file path, or a name such as ``"<gt records>"`` for in-memory records.
        line (int | None): 1-based line (record) number, or None when the problem is file-wide.
        what (str): What is wrong.
        fix (str): How to fix it.
    """

    def __init__(self, source: str, line: int | None, what: str, fix: str):
        self.source, self.line, self.what, self.fix = str(source), line, what, fix
        where = self.source if line is None else f"{self.source}:{line}"
        super().__init__(f"{where}: {what}; {fix}")

    def __reduce__(self):  # picklable (e.g. from mmengine's worker processes)
        return type(self), (self.source, self.line, self.what, self.fix)


@dataclass(frozen=True, eq=False)
class GtImage:
    """One ground-truth image, boxes as unclipped xyxy float64 (``x2 = x + w``, no +1).

    Attributes:
        image_id (str): The record's ``ID``.
        height (float | None): Image height in pixels, None when the record has none.
        width (float | None): Image width in pixels, None when the record has none.
        persons (np.ndarray): (P, 4) person boxes, in file order.
        ignores (np.ndarray): (I, 4) ignore regions, in file order.
        line (int | None): 1-based line of the record in its source; None for a record of a
            JSON list (then ``source`` names the record).
        source (str): File path or in-memory source name, for error messages.
    """

    image_id: str
    height: float | None
    width: float | None
    persons: np.ndarray
    ignores: np.ndarray
    line: int = 0
    source: str = field(default="<gt records>")


@dataclass(frozen=True, eq=False)
class DtImage:
    """The detections of one image, boxes as unclipped xyxy float64.

    Attributes:
        image_id (str): The record's ``ID``.
        height (float | None): Image height from the detection record, if present.
        width (float | None): Image width from the detection record, if present.
        boxes (np.ndarray): (D, 4) boxes in file order.
        scores (np.ndarray): (D,) scores in file order.
        line (int | None): 1-based line of the record in its source; None for a record of a
            JSON list (then ``source`` names the record).
        source (str): File path or in-memory source name, for error messages.
    """

    image_id: str
    height: float | None
    width: float | None
    boxes: np.ndarray
    scores: np.ndarray
    line: int = 0
    source: str = field(default="<dt records>")


_BOX_FIX = "boxes are [x, y, w, h]: 4 finite numbers with w >= 0 and h >= 0"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite_number(value) -> bool:
    """A JSON number (not a boolean) that float64 holds finitely (a 400-digit integer does not)."""
    if not _is_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float64's range
        return False


def _short(value, limit: int = 60) -> str:
    """``value`` as JSON, cut to ``limit`` characters (a huge integer is not printed whole)."""
    if isinstance(value, list):
        text = "[" + ", ".join(_short(v, limit) for v in value[:5]) + (
            ", ...]" if len(value) > 5 else "]")
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        text = f"<a {len(str(abs(value)))}-digit integer>"
    else:
        text = json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _describe_bad_box(value) -> str | None:
    """Why ``value`` is not a valid [x, y, w, h] box, or None when it is valid."""
    if not isinstance(value, list) or len(value) != 4 or not all(_is_number(v) for v in value):
        return f"is {_short(value)}, not a list of 4 numbers"
    if not all(_is_finite_number(v) for v in value):
        return f"is {_short(value)} with a NaN or infinite value (or beyond float64)"
    if value[2] < 0 or value[3] < 0:
        return f"is {_short(value)} with a negative width or height"
    return None


def _boxes_xywh_to_xyxy(raw_boxes: list, source: str, line: int, what: str, key: str) -> np.ndarray:
    """Validate a list of [x, y, w, h] lists and convert it to an (N, 4) float64 xyxy array.

    The fast path converts the whole list at once; only when that fails (or the result is not a
    finite, non-negative-size numeric array, or the list holds a boolean, which numpy would read
    as 0 or 1) are the boxes checked one by one to name the culprit. Boxes that pass that check
    (an integer beyond int64 but within float64) are converted number by number with ``float``,
    which rounds as numpy's int64 -> float64 conversion does.
    """
    if not raw_boxes:
        return np.zeros((0, 4), dtype=np.float64)
    try:
        boxes = np.array(raw_boxes)
        valid = (
            boxes.ndim == 2
            and boxes.shape[1] == 4
            and boxes.dtype.kind in "iuf"
            and bool(np.isfinite(boxes).all())
            and bool((boxes[:, 2:] >= 0).all())
            and not any(type(v) is bool for box in raw_boxes for v in box)
        )
    except (ValueError, TypeError, OverflowError):
        valid = False
    if not valid:
        for index, value in enumerate(raw_boxes):
            reason = _describe_bad_box(value)
            if reason is not None:
                raise OdgtFormatError(source, line, f"{what} {index}: '{key}' {reason}", _BOX_FIX)
        boxes = np.array([[float(v) for v in box] for box in raw_boxes], dtype=np.float64)
    boxes = boxes.astype(np.float64)
    boxes[:, 2:] += boxes[:, :2]  # [x, y, w, h] -> [x1, y1, x2, y2], x2 = x + w (no +1)
    return boxes


def _image_id(record: dict, source: str, line: int) -> str:
    image_id = record.get("ID")
    if not isinstance(image_id, str) or not image_id:
        raise OdgtFormatError(
            source, line, f"'ID' is {json.dumps(image_id)}, not a non-empty string",
            'every record needs "ID": "<image name without .jpg>"')
    return image_id


def _image_size(record: dict, source: str, line: int) -> tuple[float | None, float | None]:
    """The record's (height, width), each None when absent; present values must be positive."""
    size = []
    for key in ("height", "width"):
        value = record.get(key)
        if value is not None and not (_is_finite_number(value) and value > 0):
            raise OdgtFormatError(
                source, line, f"'{key}' is {_short(value)}, not a positive number",
                f"give the image {key} in pixels or leave the key out")
        size.append(value)
    return size[0], size[1]


def _require_dict(record, source: str, line: int, kind: str) -> None:
    if not isinstance(record, dict):
        raise OdgtFormatError(
            source, line, f"the line is a JSON {type(record).__name__}, not an object",
            f"write one {kind} record ({{\"ID\": ...}}) per line")


def parse_gt_record(record: dict, source: str = "<gt records>", line: int = 0) -> GtImage:
    """Validate one ground-truth record and split its boxes into persons and ignore regions.

    Args:
        record (dict): A parsed gt line.
        source (str): File path or source name, for error messages.
        line (int): 1-based line number, for error messages.

    Returns:
        GtImage: The image with (P, 4) persons and (I, 4) ignore regions, xyxy float64, unclipped.

    Raises:
        OdgtFormatError: On a missing/invalid ``ID``, ``gtboxes``, ``tag`` or ``fbox``.
    """
    _require_dict(record, source, line, "ground-truth")
    image_id = _image_id(record, source, line)
    height, width = _image_size(record, source, line)
    gtboxes = record.get("gtboxes")
    if not isinstance(gtboxes, list):
        raise OdgtFormatError(
            source, line,
            f"image '{image_id}': 'gtboxes' is {json.dumps(gtboxes)[:40]}, not a list",
            'write "gtboxes": [] for an image without objects')
    try:
        fboxes = [box["fbox"] for box in gtboxes]
        tags = [box["tag"] for box in gtboxes]
        extras = [box.get("extra") for box in gtboxes]
        valid = all(type(tag) is str for tag in tags)
    except (KeyError, TypeError):
        valid = False
    if not valid:
        index = next(i for i, box in enumerate(gtboxes) if not isinstance(box, dict)
                     or "fbox" not in box or not isinstance(box.get("tag"), str))
        raise OdgtFormatError(
            source, line, f"image '{image_id}': gt box {index} has no 'fbox' or no string 'tag'",
            'each gt box needs "tag" ("person" or "mask") and "fbox": [x, y, w, h]')
    is_person = np.array([
        tag == "person" and not (extra.get("ignore", 0) if type(extra) is dict else 0)
        for tag, extra in zip(tags, extras, strict=True)], dtype=bool)
    boxes = _boxes_xywh_to_xyxy(fboxes, source, line, f"image '{image_id}': gt box", "fbox")
    return GtImage(image_id, height, width, boxes[is_person], boxes[~is_person], line, source)


def parse_dt_record(record: dict, source: str = "<dt records>", line: int = 0) -> DtImage:
    """Validate one detection record.

    Args:
        record (dict): A parsed detection line.
        source (str): File path or source name, for error messages.
        line (int): 1-based line number, for error messages.

    Returns:
        DtImage: (D, 4) xyxy float64 boxes and (D,) float64 scores, in file order.

    Raises:
        OdgtFormatError: On a missing/invalid ``ID``, ``dtboxes``, ``box`` or ``score``.
    """
    _require_dict(record, source, line, "detection")
    image_id = _image_id(record, source, line)
    height, width = _image_size(record, source, line)
    dtboxes = record.get("dtboxes")
    if not isinstance(dtboxes, list):
        raise OdgtFormatError(
            source, line,
            f"image '{image_id}': 'dtboxes' is {json.dumps(dtboxes)[:40]}, not a list",
            'write "dtboxes": [] for an image without detections')
    try:
        raw_boxes = [det["box"] for det in dtboxes]
        raw_scores = [det["score"] for det in dtboxes]
    except (KeyError, TypeError):
        index = next(i for i, det in enumerate(dtboxes)
                     if not isinstance(det, dict) or "box" not in det or "score" not in det)
        raise OdgtFormatError(
            source, line, f"image '{image_id}': detection {index} has no 'box' or no 'score'",
            'each detection is {"box": [x, y, w, h], "score": s, "tag": 1}') from None
    boxes = _boxes_xywh_to_xyxy(raw_boxes, source, line, f"image '{image_id}': detection", "box")
    try:
        scores = np.array(raw_scores) if raw_scores else np.zeros(0, dtype=np.float64)
        valid = (scores.ndim == 1 and scores.dtype.kind in "iuf"
                 and bool(np.isfinite(scores).all())
                 and not any(type(s) is bool for s in raw_scores))
    except (ValueError, TypeError, OverflowError):
        valid = False
    if not valid:
        index = next((i for i, s in enumerate(raw_scores) if not _is_finite_number(s)), None)
        if index is not None:
            raise OdgtFormatError(
                source, line,
                f"image '{image_id}': detection {index} has score {_short(raw_scores[index])}",
                "scores must be finite numbers")
        scores = np.array([float(s) for s in raw_scores], dtype=np.float64)  # beyond int64
    return DtImage(image_id, height, width, boxes, scores.astype(np.float64), line, source)


def _read_lines(path: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` for every non-blank line, as bytes."""
    source = os.fspath(path)
    try:
        handle = open(source, "rb")
    except OSError as error:
        raise OdgtFormatError(source, None, f"cannot open the file ({error.strerror})",
                              "check the path") from None
    with handle:
        data = handle.read()
    for line_number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield line_number, line


def _json_line(source: str, line_number: int, line: bytes, whole_file: bool = False):
    """Parse one line (or, ``whole_file``, a file whose first non-blank line is
    ``line_number``), raising :class:`OdgtFormatError` on bad JSON."""
    try:
        return json.loads(line)
    except UnicodeDecodeError:
        raise OdgtFormatError(source, line_number, "not UTF-8 text",
                              "save the file as UTF-8 JSON lines") from None
    except json.JSONDecodeError as error:
        if whole_file:  # the error knows its line
            line_number = error.lineno
        raise OdgtFormatError(
            source, line_number, f"not valid JSON ({error.msg} at column {error.colno})",
            "write one JSON object per line") from None
    except RecursionError:
        raise OdgtFormatError(source, line_number, "JSON nested too deeply to read",
                              "write one flat record per line (a box is a list of 4 numbers)"
                              ) from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        raise OdgtFormatError(source, line_number, f"not valid JSON ({error})",
                              "write one JSON object per line") from None


def read_odgt_records(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, parsed_json)`` for every non-blank line of an ``.odgt`` file.

    Raises:
        OdgtFormatError: If the file cannot be read or a line is not valid JSON.
    """
    source = os.fspath(path)
    for line_number, line in _read_lines(source):
        yield line_number, _json_line(source, line_number, line)


# Fast path for detection lines in the canonical layout that detection_record and most tools
# write: ..."dtboxes": [{"box": [x, y, w, h], "score": s, "tag": t}, ...]} (any spacing).
# json.loads spends most of its time building a dict per detection; here the dtboxes array is
# checked structurally with bytes operations, turned into one flat JSON array of numbers
# [x, y, w, h, score, tag, x, ...] and parsed by json.loads: the same number grammar and the same
# float conversion as the json path, without a dict per detection. Anything else (other key
# order, keys or spacing, NaN, strings, malformed numbers) takes the json path, which also
# produces the error messages.
_DT_MARKERS = ((b'{"box":[', b"\x01"), (b'],"score":', b"\x02"), (b',"tag":', b"\x03"),
               (b"}", b"\x04"))
_DT_UNIT = b"\x01,,,\x02\x03\x04"  # a detection once its numbers are removed
_NUMBER_BYTES = b"0123456789.eE+-"
# Markers -> the flat array: "]\x02" and "\x03" become commas, "\x01" and "\x04" vanish.
_TO_FLAT = bytes.maketrans(b"\x02\x03", b",,")


def _fast_detections(line: bytes):
    """``(record without detections, (D, 4) xywh, (D,) scores)``, or None off the fast path."""
    key = line.find(b'"dtboxes"')
    start = line.find(b"[", key)
    end = line.rfind(b"]")
    if key < 0 or start < 0 or end < start or line.find(b'"dtboxes"', key + 1) >= 0 \
            or line[key + 9:start].strip() != b":" or line[end + 1:].strip() != b"}":
        return None
    # json.dumps' default separators only; any other blank (e.g. "3 0", two tokens, not 30)
    # takes the json path.
    array = line[start:end + 1].replace(b", ", b",").replace(b": ", b":")
    if b" " in array:
        return None
    for old, new in _DT_MARKERS:
        array = array.replace(old, new)
    count = array.count(b"\x01")
    if array.translate(None, _NUMBER_BYTES) != b"[" + b",".join([_DT_UNIT] * count) + b"]":
        return None
    try:  # json rejects what is not a JSON number ("01", ".5", "1-2", "1e")
        values = np.array(json.loads(array.translate(_TO_FLAT, b"\x01\x04")),
                          dtype=np.float64)
    except (ValueError, OverflowError, RecursionError):
        return None
    if values.size != 6 * count:
        return None
    values = values.reshape(count, 6)
    try:
        record = json.loads(line[:start] + b"[]" + line[end + 1:])
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return record, values[:, :4], values[:, 4].copy()


def _parse_dt_line(source: str, line_number: int, line: bytes) -> DtImage:
    fast = _fast_detections(line)
    if fast is not None:
        record, xywh, scores = fast
        image = parse_dt_record(record, source, line_number)  # checks ID, sizes, dtboxes
        if np.isfinite(xywh).all() and (xywh[:, 2:] >= 0).all() and np.isfinite(scores).all():
            boxes = xywh.copy()
            boxes[:, 2:] += boxes[:, :2]
            return DtImage(image.image_id, image.height, image.width, boxes, scores,
                           line_number, source)
    return parse_dt_record(_json_line(source, line_number, line), source, line_number)


def _is_json_list(source: str) -> bool:
    """Whether the file's first non-blank byte is ``[`` (a JSON list, not JSON lines)."""
    try:
        with open(source, "rb") as handle:
            while chunk := handle.read(4096):
                stripped = chunk.lstrip()
                if stripped:
                    return stripped[:1] == b"["
    except OSError:
        return False  # _read_lines reports it
    return False


def _load_dt_json_list(source: str) -> list[DtImage]:
    """Detections from one JSON list of records; errors name the record (1-based) in the list."""
    with open(source, "rb") as handle:
        data = handle.read()
    first_line = data[:len(data) - len(data.lstrip())].count(b"\n") + 1
    records = _json_line(source, first_line, data, whole_file=True)
    if not isinstance(records, list):  # pragma: no cover - _is_json_list saw "["
        raise OdgtFormatError(source, None, "not a JSON list", "write a list of records")
    # The list may be one line (mmdet's json.dump): errors name the record, not a line.
    return [parse_dt_record(record, f"{source} record {index}", None)
            for index, record in enumerate(records, start=1)]


# Typed path: msgspec decodes each line straight into the few fields read (C structs, no dict per
# box, the other keys skipped while still checked as JSON), and all boxes of a file become one
# float64 array in one pass. It only ever *accepts*: on anything unusual (a line msgspec rejects,
# a value the checks refuse, a JSON shape it does not type) it returns None and the plain json
# path above reads the whole file again, so every error message is that path's and the numbers
# are the same (msgspec's decimal -> float64 conversion is correctly rounded like Python's, and
# an integer token converts to the nearest float64, as numpy's int64 cast and ``float`` do).
if msgspec is not None:
    class _Extra(msgspec.Struct, gc=False):
        ignore: int | float | None = 0  # truthiness decides, as ``extra.get("ignore", 0)``

    class _GtBox(msgspec.Struct, gc=False):
        tag: str
        fbox: tuple[float, float, float, float]
        extra: _Extra | None = None

    class _GtRecord(msgspec.Struct, gc=False):
        ID: str
        gtboxes: list[_GtBox]
        height: int | float | None = None  # kept as written (an int stays an int)
        width: int | float | None = None

    class _Detection(msgspec.Struct, gc=False):
        box: tuple[float, float, float, float]
        score: float

    class _DtRecord(msgspec.Struct, gc=False):
        ID: str
        dtboxes: list[_Detection]
        height: int | float | None = None
        width: int | float | None = None

    _TYPED_ERRORS = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError, ValueError,
                     OverflowError, TypeError, OSError)
    _DECODERS = {"gt": msgspec.json.Decoder(_GtRecord), "dt": msgspec.json.Decoder(_DtRecord),
                 "dt list": msgspec.json.Decoder(list[_DtRecord])}


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector: parsing allocates millions of objects without cycles,
    and the collector's passes over them cost as much as the parsing (restored afterwards)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _valid_size(value) -> bool:
    return value is None or (_is_finite_number(value) and value > 0)


def _typed_header_ok(record) -> bool:
    """The record's ID and size pass the plain path's checks (:func:`_image_id`, ...)."""
    return bool(record.ID) and _valid_size(record.height) and _valid_size(record.width)


def _flat_xyxy(boxes: list, count: int) -> np.ndarray | None:
    """(count, 4) xyxy float64 from ``count`` 4-tuples of floats; None if a box is not finite or
    has a negative size."""
    xywh = np.fromiter(itertools.chain.from_iterable(boxes), dtype=np.float64,
                       count=4 * count).reshape(count, 4)
    if not (np.isfinite(xywh).all() and (xywh[:, 2:] >= 0).all()):
        return None
    xywh[:, 2:] += xywh[:, :2]  # [x, y, w, h] -> [x1, y1, x2, y2], x2 = x + w (no +1)
    return xywh


def _typed_records(source: str, kind: str, list_file: bool):
    """``[(line or None, record source, decoded record)]`` or None when msgspec refuses."""
    if list_file:
        with open(source, "rb") as handle:
            data = handle.read()
        records = _DECODERS["dt list"].decode(data)
        return [(None, f"{source} record {index}", record)
                for index, record in enumerate(records, start=1)]
    decode = _DECODERS[kind].decode
    return [(number, source, decode(line)) for number, line in _read_lines(source)]


def _load_typed(source: str, kind: str, list_file: bool = False):
    """The images of a well-formed file read by msgspec; None for anything else (see above)."""
    if msgspec is None:
        return None
    try:
        with _gc_paused():
            return _images_from_typed(_typed_records(source, kind, list_file), kind)
    except _TYPED_ERRORS:
        return None


def _images_from_typed(records: list, kind: str):
    if not all(_typed_header_ok(record) for _, _, record in records):
        return None
    if kind == "gt":
        boxes = [box for _, _, record in records for box in record.gtboxes]
        xyxy = _flat_xyxy([box.fbox for box in boxes], len(boxes))
        if xyxy is None:
            return None
        is_person = np.fromiter(
            (box.tag == "person" and not (box.extra is not None and box.extra.ignore)
             for box in boxes), dtype=bool, count=len(boxes))
        images, start = [], 0
        for line, source, record in records:
            stop = start + len(record.gtboxes)
            image_boxes, person = xyxy[start:stop], is_person[start:stop]
            images.append(GtImage(record.ID, record.height, record.width, image_boxes[person],
                                  image_boxes[~person], line, source))
            start = stop
        return images
    detections = [det for _, _, record in records for det in record.dtboxes]
    xyxy = _flat_xyxy(list(map(operator.attrgetter("box"), detections)), len(detections))
    scores = np.fromiter(map(operator.attrgetter("score"), detections), dtype=np.float64,
                         count=len(detections))
    if xyxy is None or not np.isfinite(scores).all():
        return None
    images, start = [], 0
    for line, source, record in records:
        stop = start + len(record.dtboxes)
        images.append(DtImage(record.ID, record.height, record.width, xyxy[start:stop],
                              scores[start:stop], line, source))
        start = stop
    return images


def load_odgt(path: str | os.PathLike, kind: str) -> list[GtImage] | list[DtImage]:
    """Read and validate a whole ``.odgt`` file.

    Args:
        path (str | os.PathLike): The file.
        kind (str): ``"gt"`` for ground truth, ``"dt"`` for detections. Detections may also be
            one JSON list of the same records (mmdet's ``CrowdHumanMetric`` result file,
            ``<outfile_prefix>.json``): a file whose first non-blank character is ``[``.

    Returns:
        list[GtImage] | list[DtImage]: One entry per record, in file order.

    Raises:
        OdgtFormatError: On any malformed line, a duplicate ``ID``, or (gt only) an empty file.
    """
    if kind not in ("gt", "dt"):
        raise ValueError(f"kind must be 'gt' or 'dt', got {kind!r}")
    source = os.fspath(path)
    list_file = kind == "dt" and _is_json_list(source)
    images = _load_typed(source, kind, list_file)
    if images is None:  # the plain json path: any file msgspec's path does not take, and errors
        with _gc_paused():
            if kind == "gt":
                images = [parse_gt_record(_json_line(source, number, line), source, number)
                          for number, line in _read_lines(source)]
            elif list_file:
                images = _load_dt_json_list(source)
            else:
                images = [_parse_dt_line(source, number, line)
                          for number, line in _read_lines(source)]
    check_unique_ids(images)
    if kind == "gt" and not images:
        raise OdgtFormatError(source, 1, "the ground-truth file has no records",
                              "pass the annotation .odgt file (one image per line)")
    return images



def _load_in_worker(path: str, kind: str):
    """:func:`load_odgt` in a worker process (looked up when called, so tests can wrap it)."""
    return load_odgt(path, kind)


def load_gt_and_dt(gt_path: str | os.PathLike, dt_path: str | os.PathLike,
                   workers: int = 1) -> tuple[list[GtImage], list[DtImage]]:
    """Read the gt and the detection file (:func:`load_odgt`), in parallel with ``workers=2``.

    With two workers the detection file is parsed in a forked child process while this process
    parses the gt; the images are the same as with one (each file is parsed by the same code), and
    a gt error is reported before a detection error, as in sequence. Peak memory: both files'
    parsed forms at once, plus the detections' copy on their way back from the child.

    Args:
        gt_path (str | os.PathLike): Ground-truth ``.odgt``.
        dt_path (str | os.PathLike): Detections (``.odgt`` or mmdet's JSON list).
        workers (int): 1 (in this process, one file after the other) or 2. Where ``fork`` is
            not available (Windows, macOS' default), 2 runs as 1.

    Returns:
        tuple[list[GtImage], list[DtImage]]: As :func:`load_odgt` gives them.

    Raises:
        OdgtFormatError: As :func:`load_odgt`.
        ValueError: ``workers`` is not 1 or 2.
    """
    if workers not in (1, 2):
        raise ValueError(f"workers must be 1 or 2, got {workers!r}")
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return load_odgt(gt_path, "gt"), load_odgt(dt_path, "dt")
    # fork: the child needs no imports nor pickled arguments beyond two paths, and starts in ms.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        dt_future = pool.submit(_load_in_worker, os.fspath(dt_path), "dt")
        gt_images = load_odgt(gt_path, "gt")  # raises first, as in sequence
        return gt_images, dt_future.result()

def check_unique_ids(images: Sequence[GtImage] | Sequence[DtImage]) -> None:
    """Raise :class:`OdgtFormatError` at the second record of any repeated ``ID``."""
    first_at: dict[str, str] = {}
    for image in images:
        if image.image_id in first_at:
            raise OdgtFormatError(
                image.source, image.line,
                f"duplicate ID '{image.image_id}' (first at {first_at[image.image_id]})",
                "give each image exactly one record")
        first_at[image.image_id] = image.source if image.line is None else f"line {image.line}"


def write_odgt(path: str | os.PathLike, records: Iterable[dict],
               inputs: Iterable[str | os.PathLike | None] = (), what: str = "output") -> None:
    """Write records as JSON lines atomically (:func:`o2f_core.io.atomic_output`).

    A crash or an exception while writing leaves no partial file at ``path``.

    Raises:
        o2f_core.io.UnsafeOutputError: ``path`` is a folder, under a file or one of ``inputs``.
    """
    # Imported here: ``o2f_core``'s package imports torch, and reading files must not need it.
    from o2f_core.io import atomic_output

    with atomic_output(path, inputs, what) as temp_path, \
            open(temp_path, "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record, separators=(",", ":")))
            stream.write("\n")


def detection_record(image_id: str, height: int, width: int, boxes_xyxy: np.ndarray,
                     scores: np.ndarray, decimals: int = 2) -> dict:
    """The odgt detection record of one image, from model outputs.

    Boxes are rounded to ``decimals`` (1/100 px keeps files small and changes no match in practice);
    scores are kept exactly, so equal scores stay equal and distinct ones distinct.

    Args:
        image_id (str): The gt ``ID``.
        height (int): Original image height.
        width (int): Original image width.
        boxes_xyxy (np.ndarray): (D, 4) boxes in original-image pixels.
        scores (np.ndarray): (D,) scores.
        decimals (int): Rounding of the [x, y, w, h] values.

    Returns:
        dict: ``{"ID", "height", "width", "dtboxes": [{"box": [x, y, w, h], "score", "tag": 1}]}``.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    # An inverted box (x2 < x1) has no area either way; clamping keeps the record valid.
    sizes = np.maximum(boxes[:, 2:] - boxes[:, :2], 0)
    xywh = np.round(np.column_stack([boxes[:, :2], sizes]), decimals) + 0.0  # + 0.0: no -0.0
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    return {"ID": image_id, "height": int(height), "width": int(width),
            "dtboxes": [{"box": box, "score": score, "tag": 1}
                        for box, score in zip(xywh.tolist(), scores.tolist(), strict=True)]}
