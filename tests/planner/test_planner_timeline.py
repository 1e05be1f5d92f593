from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from spreaders.planner.schemas import CampaignPlan
from spreaders.planner.service import analyze_prompt

Plan = Callable[[str], Awaitable[CampaignPlan]]


# The reference date is Thursday 2026-03-05.


@pytest.mark.parametrize(
    ("prompt", "start"),
    [
        ("post on Instagram today", date(2026, 3, 5)),
        ("post on Instagram tomorrow", date(2026, 3, 6)),
        ("start next Monday", date(2026, 3, 9)),
        ("start next Thursday", date(2026, 3, 12)),
        ("go live this Friday", date(2026, 3, 6)),
        ("go live on Sunday", date(2026, 3, 8)),
        ("launch on 2026-04-01", date(2026, 4, 1)),
        ("launch on April 2nd", date(2026, 4, 2)),
        ("launch on 3rd of April", date(2026, 4, 3)),
        ("launch on the 15th", date(2026, 3, 15)),
        ("launch on the 2nd", date(2026, 4, 2)),
        ("starting 20.03.2026", date(2026, 3, 20)),
        ("in 3 days", date(2026, 3, 8)),
        ("next week", date(2026, 3, 9)),
    ],
)
async def test_start_phrases_resolve_against_the_reference_date(plan: Plan, prompt: str, start: date) -> None:
    timeline = (await plan(prompt)).timeline
    assert timeline.start == start
    assert timeline.text


async def test_date_already_passed_this_year_rolls_to_next_year(plan: Plan) -> None:
    assert (await plan("launch on March 1")).timeline.start == date(2027, 3, 1)


async def test_duration_in_weeks_ends_the_day_before_the_last_week_is_over(plan: Plan) -> None:
    timeline = (await plan("next Monday for two weeks")).timeline
    assert (timeline.start, timeline.end, timeline.duration_days) == (date(2026, 3, 9), date(2026, 3, 22), 14)
    assert timeline.text == "next Monday, for two weeks"


async def test_duration_alone_starts_on_the_reference_date(plan: Plan) -> None:
    result = await plan("run it for 10 days")
    assert (result.timeline.start, result.timeline.end) == (date(2026, 3, 5), date(2026, 3, 14))
    assert any("reference date" in note for note in result.provenance.notes)


@pytest.mark.parametrize(
    "prompt",
    ["from March 12 to 20", "March 12-20", "from March 12 to March 20", "12-20 March"],
)
async def test_date_ranges_give_start_end_and_duration(plan: Plan, prompt: str) -> None:
    timeline = (await plan(prompt)).timeline
    assert (timeline.start, timeline.end, timeline.duration_days) == (date(2026, 3, 12), date(2026, 3, 20), 9)


async def test_range_across_months_keeps_the_year_of_its_start(plan: Plan) -> None:
    timeline = (await plan("from December 20 to January 6")).timeline
    assert (timeline.start, timeline.end) == (date(2026, 12, 20), date(2027, 1, 6))


async def test_by_black_friday_ends_on_black_friday_and_starts_now(plan: Plan) -> None:
    timeline = (await plan("sell our mugs by Black Friday")).timeline
    assert (timeline.start, timeline.end) == (date(2026, 3, 5), date(2026, 11, 27))


async def test_holiday_naming_the_occasion_dates_the_campaign_only_when_nothing_else_does(plan: Plan) -> None:
    assert (await plan("Black Friday sale on Instagram")).timeline.start == date(2026, 11, 27)
    christmas_drop = (await plan("Christmas collection drop next Monday")).timeline
    assert christmas_drop.start == date(2026, 3, 9)
    assert christmas_drop.text == "next Monday"


async def test_in_a_month_covers_the_whole_month(plan: Plan) -> None:
    timeline = (await plan("a promo in December")).timeline
    assert (timeline.start, timeline.end, timeline.duration_days) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
        31,
    )


async def test_in_the_current_month_starts_today(plan: Plan) -> None:
    timeline = (await plan("a promo in March")).timeline
    assert (timeline.start, timeline.end) == (date(2026, 3, 5), date(2026, 3, 31))


async def test_prompt_without_dates_has_an_empty_timeline(plan: Plan) -> None:
    timeline = (await plan("promote our bakery on Instagram")).timeline
    assert (timeline.start, timeline.end, timeline.duration_days, timeline.text) == (None, None, None, "")


async def test_next_monday_said_on_a_monday_is_a_week_later_never_today() -> None:
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    result = await analyze_prompt("start next Monday", now=monday, tz="Europe/Berlin")
    assert result.timeline.start == date(2026, 3, 16)


async def test_this_friday_said_on_a_friday_is_today() -> None:
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    result = await analyze_prompt("go live this Friday", now=friday, tz="Europe/Berlin")
    assert result.timeline.start == date(2026, 3, 6)


async def test_between_and_is_a_range(plan: Plan) -> None:
    timeline = (await plan("run it between April 3 and 10")).timeline
    assert (timeline.start, timeline.end) == (date(2026, 4, 3), date(2026, 4, 10))


async def test_by_the_end_of_a_month_ends_on_its_last_day(plan: Plan) -> None:
    timeline = (await plan("finish by the end of March")).timeline
    assert (timeline.start, timeline.end, timeline.duration_days) == (date(2026, 3, 5), date(2026, 3, 31), 27)


async def test_for_a_month_ends_the_day_before_the_same_day_next_month(plan: Plan) -> None:
    timeline = (await plan("launch on May 5 for a month")).timeline
    assert (timeline.start, timeline.end, timeline.duration_days) == (date(2026, 5, 5), date(2026, 6, 4), 31)


@pytest.mark.parametrize(
    ("prompt", "start", "end"),
    [
        ("Starte unseren Sale nächsten Montag", date(2026, 3, 9), None),
        ("vom 3. bis 10. April", date(2026, 4, 3), date(2026, 4, 10)),
        ("zwei Wochen ab dem 20. März", date(2026, 3, 20), date(2026, 4, 2)),
        ("ab nächster Woche bis zum 15. April", date(2026, 3, 9), date(2026, 4, 15)),
        ("bis Ende des Monats", date(2026, 3, 5), date(2026, 3, 31)),
        ("im Mai", date(2026, 5, 1), date(2026, 5, 31)),
        ("Beiträge am Wochenende", date(2026, 3, 7), date(2026, 3, 8)),
        ("im zweiten Quartal", date(2026, 4, 1), date(2026, 6, 30)),
        ("el próximo lunes", date(2026, 3, 9), None),
        ("del 1 al 15 de febrero", date(2027, 2, 1), date(2027, 2, 15)),
        ("desde mañana hasta el 12 de marzo", date(2026, 3, 6), date(2026, 3, 12)),
        ("durante dos semanas a partir del 1 de julio", date(2026, 7, 1), date(2026, 7, 14)),
        ("para el tercer trimestre", date(2026, 7, 1), date(2026, 9, 30)),
        ("el 15 de mayo", date(2026, 5, 15), None),
    ],
)
async def test_german_and_spanish_date_phrases_resolve_like_english_ones(
    plan: Plan, prompt: str, start: date, end: date | None
) -> None:
    timeline = (await plan(prompt)).timeline
    assert (timeline.start, timeline.end) == (start, end)


async def test_timeline_text_quotes_the_prompts_own_words(plan: Plan) -> None:
    timeline = (await plan("Gewinnspiel, zwei Wochen ab dem 20. März")).timeline
    assert timeline.text == "zwei Wochen, 20. März"


@pytest.mark.parametrize(
    ("prompt", "start", "end"),
    [
        ("in Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("run it through Q1", date(2026, 3, 5), date(2026, 3, 31)),
        ("starting Q4", date(2026, 10, 1), None),
        ("in the second quarter", date(2026, 4, 1), date(2026, 6, 30)),
    ],
)
async def test_quarters_cover_their_months_and_start_no_earlier_than_today(
    plan: Plan, prompt: str, start: date, end: date | None
) -> None:
    timeline = (await plan(prompt)).timeline
    assert (timeline.start, timeline.end) == (start, end)


@pytest.mark.parametrize(
    ("prompt", "start", "end"),
    [
        ("flash sale tomorrow only", date(2026, 3, 6), date(2026, 3, 6)),
        ("starting this Friday until March 31", date(2026, 3, 6), date(2026, 3, 31)),
        ("from tomorrow until April 13", date(2026, 3, 6), date(2026, 4, 13)),
        ("Black Friday through Cyber Monday", date(2026, 11, 27), date(2026, 11, 30)),
        ("recap video before Christmas", date(2026, 3, 5), date(2026, 12, 24)),
        ("until race day, April 19", date(2026, 3, 5), date(2026, 4, 19)),
        ("a 48-hour flash sale starting Friday", date(2026, 3, 6), date(2026, 3, 7)),
        ("2 week promo starting 1 April", date(2026, 4, 1), date(2026, 4, 14)),
        ("start: 2026-05-04; end: 2026-05-17", date(2026, 5, 4), date(2026, 5, 17)),
        ("Send our newsletter starting in April", date(2026, 4, 1), None),
        ("the July 4th sale", date(2026, 7, 4), date(2026, 7, 4)),
        ("Mother's Day: reels until May 8", date(2026, 3, 5), date(2026, 5, 8)),
    ],
)
async def test_ranges_deadlines_and_single_day_phrases_give_start_and_end(
    plan: Plan, prompt: str, start: date, end: date | None
) -> None:
    timeline = (await plan(prompt)).timeline
    assert (timeline.start, timeline.end) == (start, end)


async def test_end_of_year_as_an_adjective_is_not_a_date(plan: Plan) -> None:
    assert (await plan("an end of year recap video on YouTube")).timeline.start is None


async def test_in_n_months_after_a_verb_is_neither_a_start_nor_a_duration(plan: Plan) -> None:
    timeline = (await plan("customers who haven't ordered in 6 months")).timeline
    assert (timeline.start, timeline.duration_days) == (None, None)
