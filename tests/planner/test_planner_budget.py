from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from spreaders.planner.schemas import CampaignPlan

Plan = Callable[[str], Awaitable[CampaignPlan]]


@pytest.mark.parametrize(
    ("prompt", "amount", "currency"),
    [
        ("$2k budget", 2000.0, "USD"),
        ("2.000 EUR budget", 2000.0, "EUR"),
        ("we have 5k USD", 5000.0, "USD"),
        ("spend €500", 500.0, "EUR"),
        ("£1.5k for the month", 1500.0, "GBP"),
        ("1,500 dollars", 1500.0, "USD"),
        ("$1,250.50 total", 1250.5, "USD"),
        ("a budget of 3 thousand euros", 3000.0, "EUR"),
    ],
)
async def test_money_formats_give_amount_and_iso_currency(
    plan: Plan, prompt: str, amount: float, currency: str
) -> None:
    budget = (await plan(prompt)).budget
    assert (budget.amount, budget.currency) == (amount, currency)


async def test_per_platform_amounts_become_a_split_and_add_up_to_the_total(plan: Plan) -> None:
    budget = (await plan("$1k on Instagram and $500 on email")).budget
    assert budget.split == {"instagram": 1000.0, "email": 500.0}
    assert (budget.amount, budget.currency) == (1500.0, "USD")


async def test_stated_total_wins_over_the_sum_of_the_split(plan: Plan) -> None:
    budget = (await plan("$3k budget: $1k on TikTok")).budget
    assert (budget.amount, budget.split) == (3000.0, {"tiktok": 1000.0})


async def test_percent_split_is_applied_to_the_total(plan: Plan) -> None:
    budget = (await plan("$1k, 60% on Facebook and 40% on Instagram")).budget
    assert budget.split == {"facebook": 600.0, "instagram": 400.0}


async def test_age_ranges_and_dates_are_not_money(plan: Plan) -> None:
    result = await plan("for 18-30 year olds from March 12 to 20")
    assert result.budget.amount is None
    assert "budget" in [fact.field for fact in result.missing]
