"""Matchings of detections to persons, for one matrix or for all images at once.

Only *eligible* pairs (IoU > 0.5) can ever be matched, so the dataset-wide functions take the
eligible pairs of every image as flat arrays with global indices: detections numbered in
(gt-file image, descending score) order, persons in (gt-file image, file) order. Persons of
different images never share a pair, so the eligible graph splits into small connected components
that are matched independently and, mostly, all at once with array operations.

* :func:`greedy_match_pairs`: the reference's greedy matching (AP, mMR, Recall), in rounds.
* :class:`MaxWeightMatcher`: maximum-weight matching (JI) per component: the heaviest edge of a
  star, an exhaustive search over the few candidate matchings of a component with 2 to 4
  persons, ``scipy.optimize.linear_sum_assignment`` for the rarer larger ones.
* :func:`greedy_match` / :func:`max_weight_matching`: the same on one dense IoU matrix.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "EligiblePairs",
    "MaxWeightMatcher",
    "greedy_match",
    "greedy_match_pairs",
    "max_weight_match_pairs",
    "max_weight_matching",
]

MATCH_THRESHOLD = 0.5
# Components with at most this many persons are solved by exhaustive search over candidates.
MAX_ENUMERATED_PERSONS = 4


def greedy_match(iou: np.ndarray, threshold: float = MATCH_THRESHOLD) -> np.ndarray:
    """The reference's greedy matching, with rows already in descending score order.

    Row after row, a detection takes the still-unmatched column of highest IoU (ties: the lowest
    column index) if that IoU is strictly above ``threshold``. Instead of visiting every row, this
    jumps to the next row whose best *available* IoU clears the threshold: rows skipped over have
    no available partner at their turn, and availability only shrinks, so the loop runs once per
    match.

    Args:
        iou (np.ndarray): (D, P) IoU, rows = detections in score order, columns = persons in
            file order.
        threshold (float): A match needs IoU > threshold.

    Returns:
        np.ndarray: (D,) int64, the matched column of each row, -1 for none.
    """
    matches = np.full(iou.shape[0], -1, dtype=np.int64)
    if iou.size == 0:
        return matches
    candidate_rows = np.flatnonzero((iou > threshold).any(axis=1))
    if candidate_rows.size == 0:
        return matches
    available_iou = iou[candidate_rows]  # (C, P) copy; a taken column is set to -1 (IoU is >= 0)
    best_col = available_iou.argmax(axis=1)  # argmax returns the first maximum: the earliest person
    best_iou = available_iou[np.arange(candidate_rows.size), best_col]
    start = 0
    while True:
        ahead = np.flatnonzero(best_iou[start:] > threshold)
        if ahead.size == 0:
            return matches
        row = start + ahead[0]
        col = best_col[row]
        matches[candidate_rows[row]] = col
        available_iou[:, col] = -1.0
        start = row + 1
        stale = start + np.flatnonzero(best_col[start:] == col)  # later rows that wanted `col`
        if stale.size:
            best_col[stale] = available_iou[stale].argmax(axis=1)
            best_iou[stale] = available_iou[stale, best_col[stale]]


def max_weight_matching(iou: np.ndarray, threshold: float = MATCH_THRESHOLD):
    """Maximum-total-IoU bipartite matching over the pairs with IoU > ``threshold``.

    ``linear_sum_assignment`` on the IoU with non-eligible pairs set to 0 reaches the same total as
    the best matching restricted to eligible pairs (zero-weight pairs add nothing), so dropping its
    non-eligible pairs leaves a maximum-weight matching of the eligible graph.

    Args:
        iou (np.ndarray): (D, P) IoU.
        threshold (float): A pair is eligible if IoU > threshold.

    Returns:
        tuple[np.ndarray, np.ndarray]: matched row and column indices, each (k,) int64.
    """
    eligible = iou > threshold
    rows = np.flatnonzero(eligible.any(axis=1))
    cols = np.flatnonzero(eligible.any(axis=0))
    if rows.size == 0:
        return rows, cols
    block = np.where(eligible[np.ix_(rows, cols)], iou[np.ix_(rows, cols)], 0.0)
    sub_rows, sub_cols = linear_sum_assignment(block, maximize=True)
    keep = block[sub_rows, sub_cols] > threshold
    return rows[sub_rows[keep]], cols[sub_cols[keep]]


class EligiblePairs:
    """The eligible (IoU > 0.5) detection-person pairs of a dataset and their components.

    Args:
        det (np.ndarray): (E,) global detection index of each pair.
        person (np.ndarray): (E,) global person index of each pair.
        iou (np.ndarray): (E,) IoU of each pair, > 0.5.
        num_dets (int): Number of detections (all images).
        num_persons (int): Number of persons (all images).
    """

    def __init__(self, det: np.ndarray, person: np.ndarray, iou: np.ndarray, num_dets: int,
                 num_persons: int):
        self.det, self.person, self.iou = det, person, iou
        self.num_dets, self.num_persons = num_dets, num_persons
        # Components of the bipartite graph (nodes: detections, then persons).
        graph = coo_matrix((np.ones(det.size, dtype=np.int8), (det, num_dets + person)),
                           shape=(num_dets + num_persons,) * 2)
        _, labels = connected_components(graph, directed=False)
        self.component = labels[det]  # (E,)
        _, self.component = np.unique(self.component, return_inverse=True)  # 0 .. C - 1
        num_components = int(self.component.max()) + 1 if det.size else 0
        self.num_components = num_components
        first_of_det = np.r_[True, det[1:] != det[:-1]] if det.size else np.zeros(0, bool)
        self.dets_per_component = np.bincount(self.component[first_of_det],
                                              minlength=num_components)
        person_order = np.lexsort((person,))
        sorted_person = person[person_order]
        first_of_person = np.r_[True, sorted_person[1:] != sorted_person[:-1]] \
            if det.size else np.zeros(0, bool)
        self.persons_per_component = np.bincount(
            self.component[person_order][first_of_person], minlength=num_components)


def greedy_match_pairs(pairs: EligiblePairs) -> np.ndarray:
    """The reference's greedy matching on all images at once.

    Sequentially, each detection (in score order) takes its most preferred available person
    (highest IoU, then earliest in file). Here every round lets every undecided detection pick its
    most preferred *currently* available person. Within a component, every detection before the
    first one whose pick was already picked by an earlier detection decides exactly as the
    sequential loop would (the persons it prefers were taken before this round, its pick was not);
    a detection with nothing available is unmatched for good, wherever it stands. The first
    undecided detection of a component always decides, so every round makes progress.

    Args:
        pairs (EligiblePairs): The eligible pairs, ``det`` ascending.

    Returns:
        np.ndarray: (num_dets,) int64, matched global person index, -1 for none.
    """
    matched = np.full(pairs.num_dets, -1, dtype=np.int64)
    taken = np.zeros(pairs.num_persons, dtype=bool)
    # A component with one person (most of them): its first detection takes it.
    single = pairs.persons_per_component[pairs.component] == 1
    firsts = np.flatnonzero(single)  # pairs are in detection order
    firsts = firsts[np.unique(pairs.component[firsts], return_index=True)[1]]
    matched[pairs.det[firsts]] = pairs.person[firsts]
    # The others in rounds. Pairs in preference order: by detection, then IoU descending, then
    # person (file order).
    rest = np.flatnonzero(~single)
    order = rest[np.lexsort((pairs.person[rest], -pairs.iou[rest], pairs.det[rest]))]
    det, person, component = pairs.det[order], pairs.person[order], pairs.component[order]
    while det.size:
        picks = np.flatnonzero(~taken[person])
        if picks.size == 0:  # nothing left to take: the remaining detections stay unmatched
            break
        picks = picks[_first_per_group(det[picks])]  # each detection's best available pair
        pick_det, pick_person = det[picks], person[picks]
        # Detections picking a person an earlier detection (same component) also picked.
        by_person = np.lexsort((pick_det, pick_person))
        repeated = np.r_[False, pick_person[by_person][1:] == pick_person[by_person][:-1]]
        conflict_det = pick_det[by_person][repeated]
        boundary = np.full(pairs.num_components, pairs.num_dets, dtype=np.int64)
        np.minimum.at(boundary, component[picks][by_person][repeated], conflict_det)
        decided = pick_det < boundary[component[picks]]
        matched[pick_det[decided]] = pick_person[decided]
        taken[pick_person[decided]] = True
        # Keep the pairs of detections still undecided: those with a pick past the boundary.
        undecided = np.zeros(pairs.num_dets, dtype=bool)
        undecided[pick_det[~decided]] = True
        keep = undecided[det]
        det, person, component = det[keep], person[keep], component[keep]
    return matched


def _first_per_group(group: np.ndarray) -> np.ndarray:
    """Bool mask of the first element of each run of equal values."""
    return np.r_[True, group[1:] != group[:-1]] if group.size else np.zeros(0, dtype=bool)


@functools.cache
def _choices(num_persons: int) -> np.ndarray:
    """Every way to give each of ``num_persons`` persons a candidate rank or nothing."""
    return np.array(list(itertools.product(range(num_persons + 1), repeat=num_persons)))


def _enumerated_matching(pairs: EligiblePairs, members: np.ndarray, kept: np.ndarray,
                         num_persons: int):
    """Exact maximum-weight matchings of components with ``num_persons`` persons each.

    Some maximum-weight matching pairs every person with one of its ``num_persons`` heaviest
    (kept) detections: if a person were matched outside them, one of them is free (there are only
    ``num_persons - 1`` other persons) and swapping loses nothing. So trying every way of giving
    each person one of those candidates or nothing, with distinct detections, finds the optimum.

    Args:
        pairs (EligiblePairs): All eligible pairs.
        members (np.ndarray): (M,) indices of the pairs of these components, sorted by
            (component, person, IoU descending, detection): see :func:`_by_person_preference`.
        kept (np.ndarray): (num_dets,) bool, detections kept at this threshold.
        num_persons (int): Persons per component (2 to MAX_ENUMERATED_PERSONS).

    Returns:
        tuple[np.ndarray, np.ndarray]: matched global detection and person indices.
    """
    members = members[kept[pairs.det[members]]]
    if members.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    component, person = pairs.component[members], pairs.person[members]
    # Rank of each pair within its person's list (heaviest first); keep the top num_persons.
    starts = np.flatnonzero(_first_per_group(person))
    rank = np.arange(members.size) - np.repeat(starts, np.diff(np.r_[starts, members.size]))
    top = rank < num_persons
    members, component, person, rank = members[top], component[top], person[top], rank[top]
    # Slot of each person within its component (0 .. num_persons - 1), dense component numbers.
    components, component_slot = np.unique(component, return_inverse=True)
    person_first = _first_per_group(person)
    person_starts = np.flatnonzero(person_first)
    person_component = component_slot[person_starts]
    comp_starts = np.flatnonzero(_first_per_group(person_component))
    person_slot_of_person = np.arange(person_starts.size) - np.repeat(
        comp_starts, np.diff(np.r_[comp_starts, person_starts.size]))
    person_slot = np.repeat(person_slot_of_person, np.diff(np.r_[person_starts, members.size]))

    shape = (components.size, num_persons, num_persons + 1)  # last choice: no detection
    cand_det = np.full(shape, -1, dtype=np.int64)
    cand_w = np.zeros(shape)
    cand_det[component_slot, person_slot, rank] = pairs.det[members]
    cand_w[component_slot, person_slot, rank] = pairs.iou[members]
    cand_person = np.full(shape[:2], -1, dtype=np.int64)
    cand_person[component_slot, person_slot] = person

    choices = _choices(num_persons)  # (combos, persons): candidate rank, or "none"
    slots = np.arange(num_persons)
    chosen_det = cand_det[:, slots, choices]  # (n, combos, persons)
    weight = cand_w[:, slots, choices].sum(axis=2)  # an empty slot weighs 0, like "none"
    for i, j in itertools.combinations(range(num_persons), 2):  # one detection per person
        clash = (chosen_det[:, :, i] == chosen_det[:, :, j]) & (chosen_det[:, :, i] >= 0)
        weight[clash] = -1.0
    best = weight.argmax(axis=1)
    best_det = chosen_det[np.arange(components.size), best]  # (n, persons)
    matched = best_det >= 0
    return best_det[matched], cand_person[matched]


def _by_person_preference(pairs: EligiblePairs, members: np.ndarray) -> np.ndarray:
    """``members`` sorted by (component, person, IoU descending, detection)."""
    return members[np.lexsort((pairs.det[members], -pairs.iou[members], pairs.person[members],
                               pairs.component[members]))]


def _by_weight(pairs: EligiblePairs, members: np.ndarray) -> np.ndarray:
    """``members`` sorted by (component, IoU descending, detection, person)."""
    return members[np.lexsort((pairs.person[members], pairs.det[members], -pairs.iou[members],
                               pairs.component[members]))]


class _LargeComponents:
    """Components with more than :data:`MAX_ENUMERATED_PERSONS` persons (and detections): a dense
    IoU block each, solved by ``linear_sum_assignment`` once per distinct set of kept rows."""

    def __init__(self, pairs: EligiblePairs, members: np.ndarray):
        members = members[np.argsort(pairs.component[members], kind="stable")]
        bounds = np.flatnonzero(np.r_[True, np.diff(pairs.component[members]) != 0, True])
        self.blocks = []
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            group = members[start:stop]
            if group.size == 0:  # no member at all
                continue
            det_ids, rows = np.unique(pairs.det[group], return_inverse=True)
            person_ids, cols = np.unique(pairs.person[group], return_inverse=True)
            block = np.zeros((det_ids.size, person_ids.size))
            block[rows, cols] = pairs.iou[group]
            self.blocks.append((pairs.component[group[0]], det_ids, person_ids, block, {}))

    def match(self, kept: np.ndarray, changed: np.ndarray | None = None):
        dets, persons = [], []
        for component, det_ids, person_ids, block, cache in self.blocks:
            if changed is not None and not changed[component]:
                continue
            rows = np.flatnonzero(kept[det_ids])
            key = rows.tobytes()  # within one evaluation the kept rows are a prefix: few keys
            if key not in cache:
                sub_rows, sub_cols = linear_sum_assignment(block[rows], maximize=True)
                good = block[rows[sub_rows], sub_cols] > 0
                cache[key] = (det_ids[rows[sub_rows[good]]], person_ids[sub_cols[good]])
            dets.append(cache[key][0])
            persons.append(cache[key][1])
        return dets, persons


class MaxWeightMatcher:
    """Maximum-weight matchings of the kept detections' eligible pairs, all images at once.

    Components are independent. A star (one person or one detection) takes its heaviest kept
    edge; components with 2 to :data:`MAX_ENUMERATED_PERSONS` persons are solved by exhaustive
    search over candidates (:func:`_enumerated_matching`), larger ones by
    ``linear_sum_assignment`` (cached per component, as thresholds keep score prefixes).

    Args:
        pairs (EligiblePairs): All eligible pairs.
    """

    def __init__(self, pairs: EligiblePairs):
        self.pairs = pairs
        persons_per = pairs.persons_per_component[pairs.component]
        dets_per = pairs.dets_per_component[pairs.component]
        star = (persons_per == 1) | (dets_per == 1)
        # Sorted once; filtering by the kept detections of a threshold keeps the order.
        self.stars = _by_weight(pairs, np.flatnonzero(star))
        self.enumerated = {
            size: _by_person_preference(pairs, np.flatnonzero(~star & (persons_per == size)))
            for size in range(2, MAX_ENUMERATED_PERSONS + 1)}
        self.large = _LargeComponents(
            pairs, np.flatnonzero(~star & (persons_per > MAX_ENUMERATED_PERSONS)))

    def match(self, kept: np.ndarray, changed: np.ndarray | None = None):
        """Match the pairs of the detections with ``kept`` True.

        Args:
            kept (np.ndarray): (num_dets,) bool.
            changed (np.ndarray, optional): (num_components,) bool: match only these
                components (default: all).

        Returns:
            tuple[np.ndarray, np.ndarray]: matched global detection and person indices.
        """
        pairs = self.pairs
        # Stars: the heaviest kept edge (ties: earliest detection, then person).
        wanted = kept[pairs.det[self.stars]]
        if changed is not None:
            wanted &= changed[pairs.component[self.stars]]
        stars = self.stars[wanted]
        stars = stars[_first_per_group(pairs.component[stars])]
        dets, persons = [pairs.det[stars]], [pairs.person[stars]]
        for size, members in self.enumerated.items():
            if changed is not None:
                members = members[changed[pairs.component[members]]]
            if members.size:
                found = _enumerated_matching(pairs, members, kept, size)
                dets.append(found[0])
                persons.append(found[1])
        found = self.large.match(kept, changed)
        return np.concatenate(dets + found[0]), np.concatenate(persons + found[1])

    def match_each(self, kept_masks: Iterable[np.ndarray]):
        """:meth:`match` for each mask in turn, solving again only the components whose kept
        detections differ from the previous mask's (a component's matching depends on nothing
        else); for score thresholds in ascending order that is a fraction of them each time.

        Args:
            kept_masks (Iterable[np.ndarray]): (num_dets,) bool masks.

        Yields:
            tuple[np.ndarray, np.ndarray]: matched global detection and person indices (in no
            particular order).
        """
        pairs = self.pairs
        component_of_det = np.full(pairs.num_dets, -1, dtype=np.int64)
        component_of_det[pairs.det] = pairs.component
        matched_det = matched_person = previous = None
        for kept in kept_masks:
            if previous is None:
                matched_det, matched_person = self.match(kept)
            else:
                changed = np.zeros(pairs.num_components, dtype=bool)
                components = component_of_det[kept != previous]
                changed[components[components >= 0]] = True
                new_det, new_person = self.match(kept, changed)
                same = ~changed[component_of_det[matched_det]]
                matched_det = np.concatenate([matched_det[same], new_det])
                matched_person = np.concatenate([matched_person[same], new_person])
            previous = kept
            yield matched_det, matched_person


def max_weight_match_pairs(pairs: EligiblePairs, kept: np.ndarray):
    """One-off :meth:`MaxWeightMatcher.match` (see there)."""
    return MaxWeightMatcher(pairs).match(kept)
