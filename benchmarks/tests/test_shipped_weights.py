"""Every shipped weights file classifies exactly the recorded number of the 10,000 MNIST test images."""

from __future__ import annotations

import pytest

from tinyconv.app.trained import evaluate_on_test
from tinyconv.zoo import get_model
from tinyconv.zoo import list_weights

pytestmark = pytest.mark.results


@pytest.mark.parametrize("entry", list_weights(), ids=lambda w: f"{w.model}-{w.tag}")
def test_shipped_weights_get_exactly_the_recorded_count(entry):
    result = evaluate_on_test(get_model(entry.model, weights=entry.tag), entry.to_dict())  # CPU, fp32, NCHW, batch 1000
    assert (result.correct, result.total) == (entry.test_correct, entry.test_total)
