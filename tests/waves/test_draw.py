"""The draw over a database-narrowed candidate list gives the published rule's result, whatever the
first guess of the thresholds: a prefix found too short is lengthened, never silently used."""

import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from prakerja.waves.draw import (
    Buckets,
    Candidate,
    Fact,
    FactCache,
    PrefixTooShort,
    draw,
    initial_buckets,
    row_threshold,
)
from prakerja.waves.lottery import rank, rank60

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_selection.py"
sys.path.insert(0, str(TOOL.parent))
import verify_selection  # noqa: E402

PROVINCES = ["11", "32", "94"]
GROUPS = ["laid_off", "unemployed"]


def draw_like_the_system(
    inputs: dict, first_guess_scale: float, ineligible: frozenset[int] = frozenset()
) -> tuple[list[int], dict[int, str], int]:
    """Fetch only rows under their thresholds, lengthen on PrefixTooShort, read facts lazily;
    returns the picks, the ineligible the rule met, and how many fetches it took. `inputs` holds
    every application; those in `ineligible` fail the re-check."""
    seed = inputs["seed"]
    by_id = {a["id"]: a for a in inputs["applications"]}
    every = []
    for a in inputs["applications"]:
        full = rank(seed, a["id"])
        every.append(Candidate(a["id"], a["province"], a["priority"] or "", full, rank60(full)))
    sizes: dict[tuple[str, str], int] = {}
    for c in every:
        sizes[(c.priority, c.province)] = sizes.get((c.priority, c.province), 0) + 1
    buckets = initial_buckets(
        sizes=sizes,
        quota=inputs["quota"],
        priority_order=inputs["priority_order"],
        province_quotas=inputs["province_quotas"],
    )
    # A deliberately poor first guess, to exercise lengthening
    buckets = Buckets({b: max(1, int(t * first_guess_scale)) for b, t in buckets.threshold.items()})

    def read(ids: list[int]) -> dict[int, Fact]:
        return {
            i: Fact(
                by_id[i]["family"],
                "EXCLUDED" if i in ineligible else "",
                inputs["family_used"].get(by_id[i]["family"], 0),
            )
            for i in ids
        }

    facts = FactCache(read, batch=3)
    fetches = 0
    while True:
        fetches += 1
        fetched = [c for c in every if c.rank60 < row_threshold(buckets, c.priority, c.province)]
        try:
            chosen, met = draw(
                fetched,
                buckets=buckets,
                quota=inputs["quota"],
                max_per_family=inputs["max_per_family"],
                facts=facts,
                priority_order=inputs["priority_order"],
                province_quotas=inputs["province_quotas"],
            )
            return chosen, met, fetches
        except PrefixTooShort as short:
            buckets.lengthen(short.bucket)


applications = st.lists(
    st.tuples(
        st.sampled_from(PROVINCES),
        st.sampled_from([None, *GROUPS]),
        st.integers(min_value=0, max_value=15),  # family
    ),
    min_size=0,
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(
    rows=applications,
    quota=st.integers(min_value=1, max_value=40),
    priority_order=st.sampled_from([[], ["laid_off"], ["unemployed", "laid_off"]]),
    papua_quota=st.integers(min_value=0, max_value=8),
    used=st.dictionaries(st.integers(0, 15).map(str), st.integers(0, 2), max_size=5),
    scale=st.sampled_from([0.01, 0.3, 1.0]),
    seed=st.text(min_size=1, max_size=12),
    failing=st.sets(st.integers(min_value=1, max_value=80), max_size=10),
)
def test_the_system_draw_equals_the_verifier(
    rows, quota, priority_order, papua_quota, used, scale, seed, failing
):
    inputs = {
        "seed": seed,
        "quota": quota,
        "max_per_family": 2,
        "priority_order": priority_order,
        "province_quotas": {"94": papua_quota} if papua_quota else {},
        "family_used": used,
        "applications": [
            {"id": i + 1, "province": p, "priority": g, "family": str(f)}
            for i, (p, g, f) in enumerate(rows)
        ],
    }
    ineligible = frozenset(failing)
    chosen, met, _ = draw_like_the_system(inputs, scale, ineligible)
    # What is published: every application but the ineligible ones the rule met
    published = {
        **inputs,
        "applications": [a for a in inputs["applications"] if a["id"] not in met],
    }
    assert chosen == verify_selection.select(published)
    assert set(met) <= ineligible
    assert not set(chosen) & ineligible
    # The ineligible recorded do not depend on the thresholds' first guess
    assert draw_like_the_system(inputs, 1.0, ineligible)[1] == met


def test_a_too_short_prefix_is_lengthened_not_used():
    inputs = {
        "seed": "s",
        "quota": 30,
        "max_per_family": 2,
        "priority_order": ["laid_off"],
        "province_quotas": {"94": 5},
        "family_used": {},
        "applications": [
            {
                "id": i,
                "province": "94" if i % 7 == 0 else "32",
                "priority": "laid_off" if i % 5 == 0 else None,
                "family": str(i // 2),
            }
            for i in range(1, 301)
        ],
    }
    chosen, _, fetches = draw_like_the_system(inputs, 0.01)
    assert fetches > 1
    assert chosen == verify_selection.select(inputs)
    assert len(chosen) == 30
