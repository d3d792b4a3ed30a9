"""The NumPy versions of the per-element loops of the concrete path (boxes of a mask,
what each store left, elements written twice, reads and stores of other programs)
against straightforward references, on random masks and owners."""

from __future__ import annotations

import numpy as np
import pytest

from stile_static.core.diagnostics import Span
from stile_static.frontends import blocks
from stile_static.frontends.triton import cells as cells_module
from stile_static.frontends.triton.cells import Cells, Memory, Record
from stile_static.frontends.triton.host import Tensor
from stile_static.frontends.triton.memory import _written_twice
from stile_static.ir.terms import Const, const

SPAN = Span(1, 1, 1, 2)
SHAPES = [(1,), (17,), (4, 6), (3, 1, 5), (2, 3, 2, 4)]


def greedy_reference(mask: np.ndarray) -> list[tuple[tuple[int, int], ...]]:
    """The greedy cover grown one step at a time, each step testing the whole box."""
    mask = np.array(mask, dtype=bool, copy=True)
    out = []
    while mask.any():
        start = [int(i) for i in np.argwhere(mask)[0]]
        stop = [s + 1 for s in start]
        for axis in reversed(range(mask.ndim)):
            while stop[axis] < mask.shape[axis]:
                trial = list(stop)
                trial[axis] += 1
                if mask[tuple(slice(a, b) for a, b in zip(start, trial))].all():
                    stop = trial
                else:
                    break
        mask[tuple(slice(a, b) for a, b in zip(start, stop))] = False
        out.append(tuple(zip(start, stop)))
    return out


def random_mask(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Sparse, dense or box-shaped, so that boxes of every size occur."""
    kind = rng.integers(3)
    if kind == 0:
        return rng.random(shape) < rng.random()
    mask = np.zeros(shape, dtype=bool)
    for _ in range(rng.integers(1, 4)):
        low = [int(rng.integers(n)) for n in shape]
        high = [int(rng.integers(lo, n)) + 1 for lo, n in zip(low, shape)]
        mask[tuple(slice(a, b) for a, b in zip(low, high))] = kind == 1 or rng.random() < 0.5
    return mask


def covered(shape: tuple[int, ...], found: list[tuple[tuple[int, int], ...]]) -> np.ndarray:
    counts = np.zeros(shape, np.int64)
    for box in found:
        assert all(a < b for a, b in box), box  # no empty box
        counts[tuple(slice(a, b) for a, b in box)] += 1
    return counts


@pytest.mark.parametrize("shape", SHAPES)
def test_boxes_are_the_greedy_cover_and_cover_the_true_cells_once(shape) -> None:
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    for _ in range(60):
        mask = random_mask(rng, shape)
        found = blocks.boxes(mask)
        assert found == greedy_reference(mask)
        assert (covered(shape, found) == mask.astype(np.int64)).all()


def test_boxes_of_a_0d_mask_and_of_an_empty_one() -> None:
    assert blocks.boxes(np.array(True)) == [()]
    assert blocks.boxes(np.array(False)) == []
    assert blocks.boxes(np.zeros((3, 4), dtype=bool)) == []
    assert blocks.boxes(np.ones((3, 4), dtype=bool)) == [((0, 3), (0, 4))]


@pytest.mark.parametrize("shape", SHAPES)
def test_boxes_of_cells_are_the_boxes_of_the_whole_mask(shape) -> None:
    rng = np.random.default_rng(7 + len(shape))
    for _ in range(60):
        mask = random_mask(rng, shape)
        flat = np.flatnonzero(mask)
        assert blocks.boxes_of_cells(flat, shape) == greedy_reference(mask)


def final_reference(memory: Memory, cells: Cells):
    """What each record left, with a whole-tensor mask per (record, piece)."""
    out = []
    for owner, piece in ((cells.owner, cells.piece), (cells.rival, cells.rival_piece)):
        for n in np.unique(owner[owner >= 0]):
            record = memory.records[int(n)]
            mine = owner == n
            if record.terms is None:
                continue
            for p in np.unique(piece[mine]):
                out.append((record, record.terms[int(p)], greedy_reference(mine & (piece == p))))
    return out


@pytest.mark.parametrize("shape", SHAPES)
def test_final_groups_elements_by_record_and_piece_in_order(shape) -> None:
    rng = np.random.default_rng(11 + shape[-1])
    for _ in range(20):
        memory = Memory()
        for k in range(5):
            terms = None if k == 3 else (const(k), Const(k + 0.5), const(-k))
            memory.records.append(Record(0, (k, 0, 0), SPAN, terms))
        cells = Cells("y", shape, ["M"] * len(shape), [True] * len(shape), None)
        cells.owner[...] = rng.integers(-1, 5, shape)
        cells.piece[...] = rng.integers(0, 3, shape)
        cells.rival[...] = np.where(rng.random(shape) < 0.2, rng.integers(0, 5, shape), -1)
        cells.rival_piece[...] = rng.integers(0, 3, shape)
        assert memory.final(cells) == final_reference(memory, cells)


def written_twice_reference(sizes, index, lanes) -> tuple[int, ...] | None:
    counts = np.zeros(sizes, np.int64)
    np.add.at(counts, tuple(np.broadcast_to(i, lanes.shape)[lanes] for i in index), 1)
    if not (counts > 1).any():
        return None
    return tuple(int(i) for i in np.argwhere(counts > 1)[0])


@pytest.mark.parametrize("sizes", [(9,), (4, 5), (2, 3, 4)])
def test_written_twice_names_the_first_element_two_lanes_write(sizes) -> None:
    rng = np.random.default_rng(sum(sizes))
    dims = tuple("ABC"[: len(sizes)])
    base = Tensor("y", sizes, dims, (), "new", "empty")
    for _ in range(80):
        shape = (int(rng.integers(1, 12)),)
        index = [rng.integers(0, n, shape) for n in sizes]
        lanes = rng.random(shape) < 0.7
        expected = written_twice_reference(sizes, index, lanes)
        error = _written_twice(base, index, lanes, shape)
        if expected is None:
            assert error is None
        else:
            assert error is not None and error.code == "STL041"
            where = ", ".join(f"{d}={i}" for d, i in zip(dims, expected))
            assert f"y[{where}]" in error.message


def test_each_distinct_tests_each_index_once_and_is_false_where_negative() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(-1, 6, (50,))
    seen: list[int] = []

    def odd(v: int) -> bool:
        seen.append(v)
        return v % 2 == 1

    out = cells_module._each_distinct(values, odd)
    assert out.tolist() == [bool(v >= 0 and v % 2 == 1) for v in values.tolist()]
    assert sorted(seen) == sorted(set(v for v in values.tolist() if v >= 0))
    assert not cells_module._each_distinct(np.full((4,), -1), odd).any()


@pytest.mark.parametrize("shape", [(1, 1), (1, 300), (5, 1), (40, 3), (7, 64), (0, 4), (3, 0)])
def test_unique_rows_is_numpys_unique_over_axis_0(shape) -> None:
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    for _ in range(30):
        rows = rng.integers(-2, rng.integers(1, 4), shape)
        unique, inverse = blocks.unique_rows(rows)
        want, want_inverse = np.unique(rows, axis=0, return_inverse=True)
        assert unique.tolist() == want.tolist()
        assert inverse.tolist() == want_inverse.reshape(-1).tolist()
