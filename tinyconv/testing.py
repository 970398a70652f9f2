"""Helpers for users' own test suites (pytest or plain ``assert``).

Example, in a project's ``tests/test_budget.py``::

    from tinyconv.testing import assert_fits_budget
    from mypkg.models import Net

    def test_net_is_under_8k():
        assert_fits_budget(Net, max_params=8000)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Union

from torch import nn

from tinyconv.budget import BudgetExceededError, check_budget, count_params
from tinyconv.exercise import EXERCISE_BUDGET
from tinyconv.app.refs import parse_model_ref

__all__ = ["assert_fits_budget"]

Target = Union[nn.Module, Callable[[], nn.Module], str]


def assert_fits_budget(target: Target, max_params: int = EXERCISE_BUDGET) -> int:
    """Assert that a model has fewer than ``max_params`` trainable parameters.

    Args:
        target: A model, a zero-argument builder or class, a zoo name, or an import
            path such as ``"mypkg.models:Net"``.
        max_params: The exclusive budget.

    Returns:
        The model's trainable parameter count.

    Raises:
        AssertionError: If the model is over the budget; the message lists the total,
            the limit, the excess and the largest parameter holders.
    """
    if isinstance(target, str):
        model = parse_model_ref(target).build()
    elif isinstance(target, nn.Module):
        model = target
    else:
        model = target()
    name = target if isinstance(target, str) else type(model).__name__
    try:
        check_budget(model, max_params, name=name)
    except BudgetExceededError as error:
        raise AssertionError(str(error)) from None
    return count_params(model)
