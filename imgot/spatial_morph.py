"""The spatial morph: every pixel is a particle of mass, moved by optimal transport.

Both images, at one size, are sets of N equal masses with a position and a
color. The transport pairs them one to one (a permutation) under the cost

.. math::

    c(p, q) = \\left(\\frac{|x_p - x_q|}{r\\, side}\\right)^2
              + 1 - e^{-\\Delta E(p, q) / \\sigma},

where moving a fraction `reach` (r) of the frame's longer side costs as
much as a complete change of color, and sigma = 25 CIELAB units. The
position term is squared, so that mass spreads out when it makes way. The
color term saturates, so that changing color once costs less than twice:
a yellow disk becoming a blue disk elsewhere moves and changes color at
once, instead of fading into the background and out of it, which any cost
convex in the color difference prefers whenever the background lies
between the two colors (gray between yellow and blue, in CIELAB).

An exact plan between N pixels is out of reach (N^2 costs), so it is built
coarse to fine: joint (x, y, L*, a*, b*) k-means superpixels of each image,
an exact integral plan between their pixel counts, each superpixel's pixels
split among its partners by a small exact plan, and each pair of pieces
matched pixel to pixel (``scipy.optimize.linear_sum_assignment``).

A frame at time t moves every particle on its straight line (McCann's
interpolation: position and CIELAB color ``(1 - t) a + t b``) and splats it
bilinearly (:func:`render_frame`). Colors are averaged with the particles'
coverage and divided by its sum, so nothing dims; where particles overlap,
the ones that travel farther are in front, so a moving object is not
averaged with the background it crosses. Between the ends the particles of
one moving object are unevenly spaced (a pixel gets a quarter of one, its
neighbour one and a half): the front layer covers a pixel as much as it
covers the pixel's neighbourhood, so the object arrives whole, without
speckles of the background behind it. Pixels no particle reaches take the
colors around them. At t = 0 and t = 1 every particle sits on a pixel
of its own: the first frame is the source and the last the reference,
exactly.
"""

from __future__ import annotations

import numpy as np

from .colorspace import lab_to_srgb, srgb_to_lab
from .pixels import as_pixels, quantize

__all__ = ["pixel_matching", "render_frame", "resized_rgb", "spatial_frames"]

# Color difference (CIELAB) over which the color cost saturates.
_COLOR_SCALE = 25.0
# Superpixel features: the frame's longer side spans this many CIELAB units.
_SUPERPIXEL_SPAN = 200.0
# Local improvement rounds of the pixel matching.
_REFINE_ROUNDS = 4


def resized_rgb(image, width: int, height: int) -> np.ndarray:
    """`image` as uint8 RGB of shape (height, width, 3) (Lanczos; unchanged at its own size)."""
    from PIL import Image

    pixels = as_pixels(image)
    rgb = pixels.color if pixels.color.dtype == np.uint8 else quantize(
        pixels.color.astype(np.float64) / pixels.scale, np.uint8)
    if pixels.is_gray:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if rgb.shape[:2] == (height, width):
        return np.ascontiguousarray(rgb)
    resized = Image.fromarray(np.ascontiguousarray(rgb)).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(resized)


def _features(lab: np.ndarray) -> np.ndarray:
    """(N, 5) joint features: position in units of the longer side, then CIELAB."""
    height, width = lab.shape[:2]
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    side = max(height, width)
    return np.column_stack([x.ravel() / side, y.ravel() / side, lab.reshape(-1, 3)])


def _cost(f: np.ndarray, g: np.ndarray, reach: float) -> np.ndarray:
    """The morph's cost between features (len(f), len(g)); see the module notes."""
    position = ((f[:, None, :2] - g[None, :, :2]) ** 2).sum(axis=-1) / reach**2
    color = np.sqrt(((f[:, None, 2:] - g[None, :, 2:]) ** 2).sum(axis=-1))
    return position - np.expm1(-color / _COLOR_SCALE)


def _superpixels(features: np.ndarray, height: int, width: int, n_clusters: int, seed: int):
    """Joint k-means seeded on a regular grid (as SLIC): labels (N,) and centers (K, 5)."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    features = features * np.array([_SUPERPIXEL_SPAN] * 2 + [1.0] * 3)
    columns = max(1, round(np.sqrt(n_clusters * width / height)))
    rows = max(1, round(n_clusters / columns))
    seed_y = ((np.arange(min(rows, height)) + 0.5) * height / min(rows, height)).astype(int)
    seed_x = ((np.arange(min(columns, width)) + 0.5) * width / min(columns, width)).astype(int)
    init = features[(seed_y[:, None] * width + seed_x[None, :]).ravel()]
    kmeans = KMeans(n_clusters=init.shape[0], init=init, n_init=1, max_iter=30, random_state=seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        labels = kmeans.fit_predict(features)
    used, labels = np.unique(labels, return_inverse=True)
    counts = np.bincount(labels).astype(np.float64)
    centers = np.zeros((used.size, features.shape[1]))
    np.add.at(centers, labels, features)
    return labels, centers / counts[:, None] / np.array([_SUPERPIXEL_SPAN] * 2 + [1.0] * 3)


def _integral_plan(counts_a: np.ndarray, counts_b: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """An exact plan between integer masses, as integers (a vertex of the polytope is integral)."""
    from .transport import emd_plan

    plan = np.rint(emd_plan(counts_a, counts_b, cost)).astype(np.int64)
    if not (np.array_equal(plan.sum(axis=1), counts_a) and np.array_equal(plan.sum(axis=0), counts_b)):
        raise FloatingPointError("the exact plan between pixel counts is not integral")
    return plan


def _split(members: np.ndarray, features: np.ndarray, partners: np.ndarray, sizes: np.ndarray,
           centers: np.ndarray, reach: float) -> list[np.ndarray]:
    """Split `members` into groups of `sizes`, group k near ``centers[partners[k]]`` (exact)."""
    if partners.size == 1:
        return [members]
    cost = _cost(features[members], centers[partners], reach)
    plan = _integral_plan(np.ones(members.size, np.int64), sizes, cost)
    choice = plan.argmax(axis=1)
    return [members[choice == k] for k in range(partners.size)]


def _coarse_groups(labels: np.ndarray, centers: np.ndarray, seed: int) -> list[np.ndarray]:
    """Pixels grouped by superpixels of superpixels (about 4 each), for the wider refinement."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    n_groups = max(1, centers.shape[0] // 4)
    scaled = centers * np.array([_SUPERPIXEL_SPAN] * 2 + [1.0] * 3)
    with threadpool_limits(limits=1, user_api="openmp"):
        parent = KMeans(n_clusters=n_groups, n_init=1, random_state=seed).fit_predict(scaled)
    group = parent[labels]
    order = np.argsort(group, kind="stable")
    parts = np.split(order, np.cumsum(np.bincount(group, minlength=n_groups))[:-1])
    return [part for part in parts if part.size]


def pixel_matching(features_a: np.ndarray, features_b: np.ndarray, shape: tuple[int, int], *,
                   n_clusters: int, reach: float, seed: int) -> np.ndarray:
    """A one-to-one transport of the pixels of image a onto those of image b, coarse to fine.

    Parameters
    ----------
    features_a, features_b : ndarray of shape (N, 5)
        Joint (x, y, L*, a*, b*) features from the same grid `shape`.
    shape : (height, width)
    n_clusters : int
        Superpixels per image of the coarse plan.
    reach : float
        The move, as a fraction of the longer side, that costs as much as a
        complete change of color.
    seed : int

    Returns
    -------
    ndarray of shape (N,)
        A permutation: pixel p of a goes to pixel ``match[p]`` of b.

    Examples
    --------
    >>> lab = np.zeros((2, 3, 3)); lab[0, 0, 0] = 80.0
    >>> moved = np.zeros((2, 3, 3)); moved[1, 2, 0] = 80.0
    >>> match = pixel_matching(_features(lab), _features(moved), (2, 3), n_clusters=2, reach=1.0, seed=0)
    >>> int(match[0]), sorted(match.tolist()) == list(range(6))
    (5, True)
    """
    from scipy.optimize import linear_sum_assignment

    height, width = shape
    labels_a, centers_a = _superpixels(features_a, height, width, n_clusters, seed)
    labels_b, centers_b = _superpixels(features_b, height, width, n_clusters, seed)
    counts_a, counts_b = np.bincount(labels_a), np.bincount(labels_b)
    plan = _integral_plan(counts_a, counts_b, _cost(centers_a, centers_b, reach))
    members_a = np.split(np.argsort(labels_a, kind="stable"), np.cumsum(counts_a)[:-1])
    members_b = np.split(np.argsort(labels_b, kind="stable"), np.cumsum(counts_b)[:-1])
    pieces_a: dict = {}
    for i in range(plan.shape[0]):
        partners = np.flatnonzero(plan[i])
        for partner, piece in zip(partners, _split(members_a[i], features_a, partners, plan[i, partners],
                                                   centers_b, reach)):
            pieces_a[i, int(partner)] = piece
    match = np.empty(features_a.shape[0], np.int64)
    for j in range(plan.shape[1]):
        partners = np.flatnonzero(plan[:, j])
        for partner, piece_b in zip(partners, _split(members_b[j], features_b, partners, plan[partners, j],
                                                     centers_a, reach)):
            piece_a = pieces_a[int(partner), j]
            rows, cols = linear_sum_assignment(_cost(features_a[piece_a], features_b[piece_b], reach))
            match[piece_a[rows]] = piece_b[cols]
    # Local improvement: re-match the pixels of each group (superpixels of a, then of b, then
    # coarser ones) among the partners they have; each step keeps a permutation and can only
    # lower the cost.
    coarse_a = _coarse_groups(labels_a, centers_a, seed)
    for members in coarse_a:
        partners = match[members]
        rows, cols = linear_sum_assignment(_cost(features_a[members], features_b[partners], reach))
        match[members[rows]] = partners[cols]
    for _ in range(_REFINE_ROUNDS):
        for members in members_a:
            partners = match[members]
            rows, cols = linear_sum_assignment(_cost(features_a[members], features_b[partners], reach))
            match[members[rows]] = partners[cols]
        inverse = np.argsort(match)
        for members in members_b:
            partners = inverse[members]
            rows, cols = linear_sum_assignment(_cost(features_a[partners], features_b[members], reach))
            inverse[members[cols]] = partners[rows]
        match = np.argsort(inverse)
    return match


def _fill_holes(color: np.ndarray, depth: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Give each pixel no particle reached the color of its covered neighbour that lies deepest.

    Deepest: whose particles travel least. A hole opens behind what moves
    (the background has not arrived yet); filling it from the front would
    smear the moving object over it. Grows outward, shallow colors first (a
    hole next to both a moving object and the background takes the
    background, even when the background reaches it one step later).
    """
    color, depth, covered = color.copy(), depth.copy(), covered.copy()
    height, width = covered.shape
    while not covered.all():
        padded_depth = np.pad(np.where(covered, depth, np.inf), 1, constant_values=np.inf)
        candidates = np.stack([padded_depth[1 + dy: 1 + dy + height, 1 + dx: 1 + dx + width]
                               for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        best, nearest = candidates.argmin(axis=0), candidates.min(axis=0)
        reach = ~covered & np.isfinite(nearest)
        if not reach.any():
            break
        reach &= nearest <= nearest[reach].min() + 1.0  # within a pixel of travel of the shallowest
        ys, xs = np.nonzero(reach)
        sy = np.clip(ys + best[reach] // 3 - 1, 0, height - 1)
        sx = np.clip(xs + best[reach] % 3 - 1, 0, width - 1)
        color[ys, xs], depth[ys, xs] = color[sy, sx], depth[sy, sx]
        covered[ys, xs] = True
    return color


# The front layer at a pixel: particles whose travel is within this share of the largest travel around it
# (and at least _LAYER_SLACK pixels of it), so an object crossing its background is one layer.
_LAYER_SHARE = 0.25
_LAYER_SLACK = 2.0
# A pixel none of the front layer reaches still takes it when the layer covers this much around it.
_SURROUNDED = 0.75
_TENT = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0  # the neighbourhood of a pixel, centre heaviest


def _shifted(plane: np.ndarray, dy: int, dx: int, fill: float) -> np.ndarray:
    """``plane`` moved by (dy, dx): out[y, x] = plane[y + dy, x + dx], `fill` beyond the edges."""
    height, width = plane.shape
    padded = np.pad(plane, 1, constant_values=fill)
    return padded[1 + dy: 1 + dy + height, 1 + dx: 1 + dx + width]


def _front_to_back(index: np.ndarray, weight: np.ndarray, priority: np.ndarray, room: np.ndarray) -> np.ndarray:
    """How much of each splat a pixel takes, farthest travel first, until `room` (per pixel) is used up."""
    if index.size == 0:
        return weight.copy()
    order = np.lexsort((-priority, index))
    sorted_index, sorted_weight = index[order], weight[order]
    running = np.cumsum(sorted_weight)
    starts = np.flatnonzero(np.r_[True, sorted_index[1:] != sorted_index[:-1]])
    group_start = np.repeat(running[starts] - sorted_weight[starts], np.diff(np.r_[starts, sorted_index.size]))
    before = running - sorted_weight - group_start  # coverage already taken in this pixel
    used = np.empty_like(weight)
    used[order] = np.clip(room[sorted_index] - before, 0.0, sorted_weight)
    return used


def render_frame(position: np.ndarray, color: np.ndarray, priority: np.ndarray,
                 shape: tuple[int, int], *, gather: float = 1.0) -> np.ndarray:
    """Splat particles (x, y) with CIELAB colors onto a (height, width) grid, as uint8 sRGB.

    Each particle covers its four nearest pixels with bilinear weights. At
    each pixel the particles are in layers: the **front layer** is those that
    travel (`priority`) within a quarter of the farthest travel around the
    pixel (3 x 3), the rest is behind. The front layer's color is its
    coverage-weighted mean, and it covers the pixel as much as that layer
    covers the pixel's neighbourhood (a tent over 3 x 3), or its own
    coverage if more: mass that moves as a whole arrives whole, though its
    particles' spacing is uneven (a pixel that gets a quarter of a particle,
    between neighbours that get more than one, is the object's, not a speckle
    of what is behind), while at an object's edge the layer covers part of the
    pixel and the rest shows through (antialiasing). What the front leaves
    uncovered takes the particles behind, front to back; a pixel no particle
    reaches takes the colors around it.

    `gather` (0 to 1) scales how much a pixel takes of its neighbourhood's
    front layer: the spacing of the particles is uneven only between the
    ends, where each particle sits on a pixel of its own. With ``gather=0`` a
    pixel reached by one particle has that particle's color exactly (the
    first and last frames).

    Examples
    --------
    >>> lab = srgb_to_lab(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    >>> render_frame(np.array([[0.0, 0.0], [1.0, 0.0]]), lab, np.zeros(2), (1, 2)).tolist()
    [[[255, 0, 0], [0, 0, 255]]]
    >>> render_frame(np.array([[0.0, 0.0], [0.0, 0.0]]), lab, np.array([0.0, 1.0]), (1, 2)).tolist()
    [[[0, 0, 255], [0, 0, 255]]]
    """
    height, width = shape
    size = height * width
    x = np.clip(position[:, 0], 0.0, width - 1.0)
    y = np.clip(position[:, 1], 0.0, height - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), max(width - 2, 0))
    y0 = np.minimum(np.floor(y).astype(np.int64), max(height - 2, 0))
    fx, fy = x - x0, y - y0
    indices, weights, owners = [], [], []
    particles = np.arange(position.shape[0])
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        w = (fx if dx else 1.0 - fx) * (fy if dy else 1.0 - fy)
        inside = w > 0
        indices.append(np.minimum(y0 + dy, height - 1)[inside] * width + np.minimum(x0 + dx, width - 1)[inside])
        weights.append(w[inside])
        owners.append(particles[inside])
    index, weight, owner = np.concatenate(indices), np.concatenate(weights), np.concatenate(owners)
    depth_of = priority[owner]
    channels = color.shape[1]

    # The front layer's level at each pixel: the farthest travel among the particles around it.
    farthest_flat = np.full(size, -np.inf)
    np.maximum.at(farthest_flat, index, depth_of)
    farthest = farthest_flat.reshape(height, width)
    level = np.max([_shifted(farthest, dy, dx, -np.inf) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    threshold = (level - np.maximum(_LAYER_SLACK, _LAYER_SHARE * np.abs(level))).reshape(-1)
    front = depth_of >= threshold[index]

    # The front layer: its own coverage and colors here (front to back within it, up to full cover),
    # and its coverage and colors around (tent).
    f_index, f_owner = index[front], owner[front]
    f_used = _front_to_back(f_index, weight[front], depth_of[front], np.ones(size))
    own = np.bincount(f_index, f_used, size)
    own_color = np.stack([np.bincount(f_index, f_used * color[f_owner, c], size) for c in range(channels)], axis=1)
    around = np.zeros(size)
    around_color = np.zeros((size, channels))
    rows, cols = np.divmod(index, width)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            # a particle splatted at q counts for the pixel p = q - (dy, dx) if it is in p's front layer
            py, px = rows - dy, cols - dx
            counts = (py >= 0) & (py < height) & (px >= 0) & (px < width)
            target = np.where(counts, py * width + px, 0)
            counts &= depth_of >= threshold[target]
            target, share = target[counts], weight[counts] * _TENT[dy + 1, dx + 1]
            around += np.bincount(target, share, size)
            for c in range(channels):
                around_color[:, c] += np.bincount(target, share * color[owner[counts], c], size)
    reached = own > 1e-6
    around *= gather
    surrounded = ~reached & (around >= _SURROUNDED)
    alpha = np.where(reached, np.minimum(1.0, np.maximum(own, around)),
                     np.where(surrounded, np.minimum(1.0, around), 0.0))
    front_color = np.zeros((size, channels))
    front_color[reached] = own_color[reached] / own[reached, None]
    front_color[surrounded] = around_color[surrounded] * gather / around[surrounded, None]
    front_depth = np.zeros(size)
    front_depth[reached] = np.bincount(f_index, f_used * depth_of[front], size)[reached] / own[reached]
    front_depth[surrounded] = level.reshape(-1)[surrounded]

    # Behind it, front to back: the rest fills what the front layer leaves uncovered.
    back = ~front
    b_index, b_owner = index[back], owner[back]
    used = _front_to_back(b_index, weight[back], depth_of[back], 1.0 - alpha)
    behind = np.bincount(b_index, used, size)
    total = alpha + behind
    covered = total > 1e-6
    lab = np.zeros((size, channels))
    for c in range(channels):
        mixed = alpha * front_color[:, c] + np.bincount(b_index, used * color[b_owner, c], size)
        lab[covered, c] = mixed[covered] / total[covered]
    depth = np.zeros(size)
    mixed = alpha * front_depth + np.bincount(b_index, used * priority[b_owner], size)
    depth[covered] = mixed[covered] / total[covered]
    lab = _fill_holes(lab.reshape(height, width, -1), depth.reshape(height, width),
                      covered.reshape(height, width))
    return quantize(lab_to_srgb(lab), np.uint8)


def spatial_frames(source, reference, times, *, size: tuple[int, int], n_clusters: int, reach: float,
                   seed: int):
    """The frames of the spatial morph at `times` (a generator of uint8 RGB arrays)."""
    width, height = size
    rgb_a, rgb_b = resized_rgb(source, width, height), resized_rgb(reference, width, height)
    lab_a, lab_b = srgb_to_lab(rgb_a / 255.0), srgb_to_lab(rgb_b / 255.0)
    match = pixel_matching(_features(lab_a), _features(lab_b), (height, width), n_clusters=n_clusters,
                           reach=reach, seed=seed)
    grid = np.stack(list(np.mgrid[0:height, 0:width][::-1]), axis=-1).reshape(-1, 2).astype(np.float64)
    start, end = grid, grid[match]
    color_a, color_b = lab_a.reshape(-1, 3), lab_b.reshape(-1, 3)[match]
    travel = np.linalg.norm(end - start, axis=1)

    def frames():
        for t in times:
            t = float(t)
            # uneven spacing grows away from the ends: gather fully from an eighth of the way on
            yield render_frame((1.0 - t) * start + t * end, (1.0 - t) * color_a + t * color_b, travel,
                               (height, width), gather=min(1.0, 8.0 * min(t, 1.0 - t)))

    return frames()
