"""The in-memory batch pipeline and batched augmentation: correctness, not speed."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyconv.data.augment import RandomAffine, make_augmentation, torchvision_transforms
from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.stats import data_statistics


def indexed(n: int) -> TensorBatches:
    """Batches whose images carry their own index, so we can see which samples came."""
    images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return images, torch.arange(n)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 70), batch=st.integers(1, 32), seed=st.integers(0, 10))
def test_every_sample_once_per_epoch(n, batch, seed):
    images, labels = indexed(n)
    batches = TensorBatches(images, labels, batch, seed=seed)
    assert len(batches) == math.ceil(n / batch)
    for _ in range(2):
        seen = torch.cat([y for _, y in batches])
        assert sorted(seen.tolist()) == list(range(n))


def test_drop_last():
    images, labels = indexed(10)
    batches = TensorBatches(images, labels, 4, drop_last=True)
    assert len(batches) == 2 and [len(y) for _, y in batches] == [4, 4]


def test_same_seed_same_batches_and_new_order_each_epoch():
    images, labels = indexed(50)
    a, b, c = (TensorBatches(images, labels, 8, seed=s) for s in (3, 3, 4))
    first_a = [y.tolist() for _, y in a]
    assert first_a == [y.tolist() for _, y in b]
    assert first_a != [y.tolist() for _, y in c]
    assert first_a != [y.tolist() for _, y in a]  # reshuffled


def test_state_dict_restores_the_batch_sequence():
    images, labels = indexed(40)
    a = TensorBatches(images, labels, 8, seed=1, augment=make_augmentation("rotate"))
    list(a)
    state = a.state_dict()
    expected = [(x.clone(), y.clone()) for x, y in a]
    b = TensorBatches(images, labels, 8, seed=99, augment=make_augmentation("rotate"))
    b.load_state_dict(state)
    for (xa, ya), (xb, yb) in zip(expected, b, strict=True):
        assert torch.equal(ya, yb) and torch.equal(xa, xb)


def test_images_and_labels_stay_paired_under_augmentation():
    n = 30
    images = torch.arange(1, n + 1, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 9, 9).contiguous()
    batches = TensorBatches(images, torch.arange(n), 7, seed=0, augment=RandomAffine(degrees=7))
    for x, y in batches:
        # a constant image keeps its value at the centre under a small rotation: its index (+1) survives
        assert torch.equal(x[:, 0, 4, 4], y.float() + 1)


def test_no_shuffle_keeps_order():
    images, labels = indexed(9)
    assert torch.cat([y for _, y in TensorBatches(images, labels, 4, shuffle=False)]).tolist() == list(range(9))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: TensorBatches(torch.zeros(3, 1, 2, 2), torch.zeros(4, dtype=torch.long), 2), "labels"),
        (lambda: TensorBatches(torch.zeros(3, 2, 2), torch.zeros(3, dtype=torch.long), 2), "images"),
        (lambda: TensorBatches(torch.zeros(3, 1, 2, 2), torch.zeros(3, dtype=torch.long), 0), "batch_size"),
        (lambda: RandomAffine(degrees=-1), "degrees"),
        (lambda: RandomAffine(translate=1.5), "translate"),
        (lambda: RandomAffine(scale=(1.2, 1.0)), "scale"),
        (lambda: make_augmentation("flip"), "augment"),
        (lambda: torchvision_transforms("flip"), "augment"),
    ],
)
def test_bad_pipeline_arguments(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_zero_affine_is_identity():
    x = torch.randn(4, 1, 28, 28)
    out = RandomAffine(degrees=0)(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x)


@settings(max_examples=20, deadline=None)
@given(degrees=st.one_of(st.just(0.0), st.floats(1e-3, 45)), seed=st.integers(0, 1000))  # float32 angles: not subnormal
def test_rotation_angles_stay_within_bounds(degrees, seed):
    theta = RandomAffine(degrees=degrees).matrices(64, torch.Generator().manual_seed(seed))
    angles = torch.rad2deg(torch.atan2(theta[:, 1, 0], theta[:, 0, 0]))
    assert angles.abs().max() <= degrees + 1e-3
    assert angles.abs().max() >= 0.5 * degrees  # 64 draws cover the range: a no-op rotation fails
    torch.testing.assert_close(theta[:, 0, 0], theta[:, 1, 1])  # pure rotation, no shear


def test_rotation_fills_with_the_fill_value_and_keeps_range():
    fill = -0.4242
    x = torch.full((64, 1, 28, 28), 2.0)
    rotate = RandomAffine(degrees=45, fill=fill)
    theta = rotate.matrices(64, torch.Generator().manual_seed(0))
    out = rotate(x, torch.Generator().manual_seed(0))
    close_to_fill = (out - fill).abs() < 1e-5
    assert ((out == 2.0) | close_to_fill).all()  # nearest sampling: only image or fill values
    angles = torch.rad2deg(torch.atan2(theta[:, 1, 0], theta[:, 0, 0])).abs()
    assert (angles > 20).sum() > 10 and close_to_fill[angles > 20, 0, 0, 0].all()  # far-rotated corners: fill
    assert out[:, 0, 14, 14].eq(2.0).all()  # the centre stays


def test_rotation_matches_torchvision_statistically():
    """Our batched rotation and torchvision's RandomRotation keep the same pixel mass on average."""
    from torchvision.transforms import RandomRotation

    g = torch.Generator().manual_seed(0)
    digits = (torch.rand(64, 1, 28, 28, generator=g) > 0.8).float()
    ours = RandomAffine(degrees=7)(digits, g)
    torch.manual_seed(0)
    theirs = torch.stack([RandomRotation(7)(d) for d in digits])
    assert abs(ours.mean().item() - theirs.mean().item()) < 0.01


def test_an_augmentation_probability_leaves_the_other_images_unchanged():
    x = torch.randn(400, 1, 28, 28)
    half = make_augmentation("custom", degrees=30, probability=0.5)
    out = half(x, torch.Generator().manual_seed(0))
    unchanged = (out == x).flatten(1).all(1)
    assert 150 < unchanged.sum() < 250  # about half of 400 pass through, exactly
    assert not torch.allclose(out[~unchanged], x[~unchanged], atol=1e-3)  # the others are rotated
    assert "probability=0.5" in repr(half)


def test_probability_one_draws_exactly_what_it_drew_before():
    """At probability 1 no coin is tossed, so every earlier run's augmented batches are unchanged."""
    x = torch.randn(16, 1, 28, 28)
    always = make_augmentation("custom", degrees=7, translate=0.05, scale=0.05, probability=1.0)
    old = RandomAffine(degrees=7, translate=0.05, scale=(0.95, 1.05), fill=always.fill, mode="bilinear")
    torch.testing.assert_close(always(x, torch.Generator().manual_seed(3)), old(x, torch.Generator().manual_seed(3)),
                               rtol=0, atol=0)
    assert "probability" not in repr(always)


@pytest.mark.parametrize("probability, error", [(0, ValueError), (-0.1, ValueError), (1.01, ValueError),
                                                (True, TypeError)])
def test_a_bad_augmentation_probability_is_refused(probability, error):
    with pytest.raises(error, match="probability must be"):
        make_augmentation("custom", degrees=7, probability=probability)


def test_the_classic_pipeline_applies_the_probability_too():
    from torchvision import transforms as T

    steps = torchvision_transforms("custom", degrees=7, probability=0.5).transforms
    assert isinstance(steps[0], T.RandomApply) and steps[0].p == 0.5
    assert isinstance(torchvision_transforms("custom", degrees=7).transforms[0], T.RandomAffine)


def test_normalise_matches_torchvision():
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    reference = torch.stack([torchvision_transforms("none")(img.numpy()) for img in images])
    torch.testing.assert_close(normalise(images), reference)
    with pytest.raises(TypeError, match="uint8"):
        normalise(images.float())


def test_data_statistics():
    stats = data_statistics(torch.tensor([[-1.0, 1.0], [3.0, 5.0]]))
    assert (stats.min, stats.max, stats.mean, stats.shape) == (-1.0, 5.0, 2.0, (2, 2))
    assert stats.var == pytest.approx(stats.std**2)
    assert "mean: 2.0000" in str(stats)
    with pytest.raises(TypeError, match="floating-point"):
        data_statistics(torch.tensor([1, 2]))
