import pickle

import numpy as np

from imgot.sliced import SlicedReference, random_rotation, rank_order, sliced_transport


def _rank_16_bits(values):
    """Pitie's sort, at 65,536 levels between the extremes (ties in index order)."""
    low, high = values.min(), values.max()
    codes = np.floor((values - low) / (high - low) * 65535 + 0.5).astype(np.int64)
    return np.lexsort((np.arange(values.size), codes))


def test_rank_order_sorts_at_16_bits_of_the_range_and_keeps_ties_in_index_order():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 50, 5000), rng.integers(-3, 3, 3000).astype(float),  # many ties
                             [0.0, -0.0, 1e-30, -1e-30]])
    rng.shuffle(values)
    order = rank_order(values)
    np.testing.assert_array_equal(order, _rank_16_bits(values))
    assert sorted(order.tolist()) == list(range(values.size))
    # Out of order only by less than a level: 1/65,535 of the range.
    assert np.diff(values[order]).min() > -(values.max() - values.min()) / 65535
    np.testing.assert_array_equal(rank_order(np.full(7, 2.5)), np.arange(7))
    np.testing.assert_array_equal(rank_order(np.array([1.0, np.inf, -np.inf])), [2, 0, 1])


def _idt(source, target, n_iter, seed):
    """Pitie's IDT as written in the paper: per rotation, each axis to the target's equal quantile."""
    rng = np.random.default_rng(seed)
    moved = source.astype(np.float64).copy()
    for _ in range(n_iter):
        rotation = random_rotation(rng)
        projected, reference = moved @ rotation, target @ rotation
        shift = np.empty_like(projected)
        for axis in range(3):
            order = _rank_16_bits(projected[:, axis])
            matched = np.empty(len(moved))
            matched[order] = np.sort(reference[:, axis])
            shift[:, axis] = matched - projected[:, axis]
        moved += shift @ rotation.T
    return moved


def test_sliced_transport_with_a_shared_reference_is_idt_exactly():
    rng = np.random.default_rng(1)
    source, target = rng.normal(0, 1, (800, 3)), rng.normal(3, 2, (800, 3)) * [1, 2, 0.5]
    shared = SlicedReference(target)
    expected = _idt(source, target, 7, 5)
    for _ in range(2):  # the second call reuses the sorted projections
        np.testing.assert_array_equal(sliced_transport(source, shared, n_iter=7, random_state=5), expected)
    np.testing.assert_array_equal(sliced_transport(source, target, n_iter=7, random_state=5), expected)


def test_sliced_transport_with_unequal_sizes_matches_quantiles():
    rng = np.random.default_rng(2)
    target = rng.normal(5, 2, (3000, 3))
    moved = sliced_transport(rng.normal(0, 1, (1000, 3)), target, n_iter=30)
    quantiles = np.linspace(0.05, 0.95, 19)
    gap = np.abs(np.quantile(moved, quantiles, axis=0) - np.quantile(target, quantiles, axis=0))
    # Stated bounds (seeds 0-19 give medians up to 0.034 and maxima up to 0.19: the quantiles of
    # 1,000 and 3,000 samples differ by their sampling noise); without transport they are 5.
    assert np.median(gap) < 0.06 and gap.max() < 0.3


def test_a_pickled_reference_keeps_its_projections_and_results():
    rng = np.random.default_rng(3)
    shared = SlicedReference(rng.random((500, 3)))
    rotations, projections = shared.projections(4, 9)
    copy = pickle.loads(pickle.dumps(shared))
    assert copy._cache[(4, 9)][1] is not projections  # a copy, carried along: no sorting on arrival
    np.testing.assert_array_equal(copy.projections(4, 9)[1], projections)
    source = rng.random((300, 3))
    np.testing.assert_array_equal(sliced_transport(source, copy, n_iter=4, random_state=9),
                                  sliced_transport(source, shared, n_iter=4, random_state=9))
