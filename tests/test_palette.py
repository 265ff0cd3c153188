import numpy as np

from imgot.palette import fit_palette, sample_colors


def test_sample_size_is_capped_and_independent_of_image_size():
    rng = np.random.default_rng(0)
    for n_pixels in (100, 100_000):
        pixels = rng.random((n_pixels, 3))
        assert sample_colors(pixels, 500, np.random.default_rng(1)).shape == (500, 3)


def test_sample_skips_masked_pixels():
    pixels = np.zeros((1000, 3))
    pixels[::10] = 1.0
    mask = pixels[:, 0] == 1.0
    sample = sample_colors(pixels, 300, np.random.default_rng(0), mask=mask)
    assert np.all(sample == 1.0)


def test_weights_are_cluster_shares():
    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(0, 0.5, (300, 3)), rng.normal(50, 0.5, (100, 3))])
    palette = fit_palette(blobs, 2, random_state=0)
    order = np.argsort(palette.colors[:, 0])
    np.testing.assert_allclose(palette.weights[order], [0.75, 0.25])
    np.testing.assert_allclose(palette.colors[order], [blobs[:300].mean(0), blobs[300:].mean(0)])


def test_palette_weights_sum_to_one_and_are_reproducible():
    samples = np.random.default_rng(3).random((2000, 3)) * 100
    first = fit_palette(samples, 16, random_state=7)
    again = fit_palette(samples, 16, random_state=7)
    assert first.colors.shape == (16, 3)
    assert np.isclose(first.weights.sum(), 1.0)
    np.testing.assert_array_equal(first.colors, again.colors)


def test_few_distinct_colors_give_the_exact_histogram():
    samples = np.repeat([[10.0, 0, 0], [20.0, 5, 5]], [30, 10], axis=0)
    palette = fit_palette(samples, 64, random_state=0)
    np.testing.assert_allclose(palette.colors, [[10, 0, 0], [20, 5, 5]])
    np.testing.assert_allclose(palette.weights, [0.75, 0.25])


def test_binned_kmeans_is_as_tight_as_scikit_learn_on_the_raw_samples(rocket, coffee):
    from sklearn.cluster import KMeans

    from imgot.colorspace import srgb_to_lab
    from imgot.palette import sample_rgb
    from imgot.pixels import as_pixels

    for image in (rocket, coffee):
        samples = srgb_to_lab(sample_rgb(as_pixels(image), 10000, 0))

        def inertia(centers):
            return (((samples[:, None] - centers[None]) ** 2).sum(-1)).min(1).sum()

        # k-means finds a local optimum that varies with the seed: compare means over three seeds.
        ours = np.mean([inertia(fit_palette(samples, 64, random_state=seed).colors) for seed in range(3)])
        theirs = np.mean([KMeans(64, n_init=1, random_state=seed).fit(samples).inertia_ for seed in range(3)])
        assert ours < 1.04 * theirs
        palette = fit_palette(samples, 64, random_state=0)
        labels = np.argmin(((samples[:, None] - palette.colors[None]) ** 2).sum(-1), axis=1)
        shares = np.bincount(labels, minlength=len(palette.weights)) / 10000  # of the samples nearest each color
        np.testing.assert_allclose(palette.weights, shares, atol=1e-12)
