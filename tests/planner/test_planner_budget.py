from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from spreaders.planner.offline import parse_number
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


@pytest.mark.parametrize(
    ("prompt", "amount", "currency"),
    [
        ("budget €1,5k for boosted posts", 1500.0, "EUR"),
        ("Budget 1.200,50 €", 1200.5, "EUR"),
        ("budget 2,5k€", 2500.0, "EUR"),
        ("CHF 1'200", 1200.0, "CHF"),
        ("600 Franken", 600.0, "CHF"),
        ("¥150,000", 150000.0, "JPY"),
        ("50,000 yen", 50000.0, "JPY"),
        ("presupuesto $20.000 MXN", 20000.0, "MXN"),
        ("presupuesto de 5.000 USD", 5000.0, "USD"),
        ("₹75,000", 75000.0, "INR"),
        ("budget 3k", 3000.0, None),
        ("presupuesto 900", 900.0, None),
    ],
)
async def test_european_and_asian_money_formats_are_read(
    plan: Plan, prompt: str, amount: float, currency: str | None
) -> None:
    budget = (await plan(prompt)).budget
    assert (budget.amount, budget.currency) == (amount, currency)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2.000", 2000.0),
        ("1,500", 1500.0),
        ("1,5", 1.5),
        ("2.5", 2.5),
        ("1.200,50", 1200.5),
        ("1,250.50", 1250.5),
        ("1.000.000", 1_000_000.0),
        ("1'200", 1200.0),
    ],
)
def test_the_last_separator_is_decimal_unless_three_digits_follow(raw: str, value: float) -> None:
    assert parse_number(raw) == value


async def test_a_run_distance_is_not_a_budget(plan: Plan) -> None:
    assert (await plan("Promote our charity 5k run on Facebook")).budget.amount is None


async def test_a_percent_of_it_on_a_platform_is_a_split(plan: Plan) -> None:
    budget = (await plan("Instagram and TikTok, $8k, 40% of it on TikTok")).budget
    assert budget.split == {"tiktok": 3200.0}
