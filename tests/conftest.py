from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"


def gradient(height=48, width=64, low=(0.9, 0.5, 0.2), high=(1.0, 0.9, 0.6)):
    """A smooth float image in [0, 1] running from color `low` to color `high`."""
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    rows = np.linspace(0.0, 0.3, height)[:, None, None]
    low, high = np.asarray(low), np.asarray(high)
    return np.clip(low + (high - low) * t - 0.2 * rows, 0.0, 1.0)


@pytest.fixture
def warm():
    """Warm 8-bit image with some texture."""
    rng = np.random.default_rng(1)
    image = gradient() + rng.normal(0, 0.02, (48, 64, 3))
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def cool():
    """Cool 8-bit image with a different palette."""
    rng = np.random.default_rng(2)
    image = gradient(low=(0.05, 0.15, 0.4), high=(0.4, 0.7, 0.95)) + rng.normal(0, 0.02, (48, 64, 3))
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def load_sample(name, size=(160, 120)):
    """A bundled sample photograph, downscaled for speed, as uint8 RGB."""
    with Image.open(SAMPLES / name) as image:
        return np.asarray(image.convert("RGB").resize(size, Image.Resampling.LANCZOS))


@pytest.fixture
def rocket():
    return load_sample("rocket.jpg")


@pytest.fixture
def coffee():
    return load_sample("coffee.jpg")
