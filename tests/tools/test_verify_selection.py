"""The outsider's verification tool: its rule, and that it catches a tampered list or seed."""

import hashlib
import hmac
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_selection.py"
sys.path.insert(0, str(TOOL.parent))
import verify_selection  # noqa: E402

SEED = "gelombang-1-2020-04-17-rahasia"


def published(applications, **extra):
    inputs = {
        "wave": 1,
        "seed": SEED,
        "commitment": hashlib.sha256(SEED.encode()).hexdigest(),
        "quota": 3,
        "max_per_family": 2,
        "priority_order": [],
        "province_quotas": {},
        "applications": applications,
    }
    inputs.update(extra)
    return inputs


def app(number, province="32", priority="", family=None):
    return {
        "id": number,
        "province": province,
        "priority": priority,
        "family": family or f"kk{number}",
    }


def by_rank(ids):
    return sorted(
        ids, key=lambda i: hmac.new(SEED.encode(), str(i).encode(), hashlib.sha256).hexdigest()
    )


def test_the_rest_is_chosen_by_the_keyed_hash_of_the_seed_and_application_id():
    inputs = published([app(i) for i in range(1, 7)])
    assert verify_selection.select(inputs) == by_rank(range(1, 7))[:3]


def test_priority_groups_come_first_in_their_published_order():
    inputs = published(
        [
            app(1),
            app(2, priority="laid_off"),
            app(3),
            app(4, priority="list"),
            app(5, priority="laid_off"),
        ],
        priority_order=["laid_off", "list"],
    )
    chosen = verify_selection.select(inputs)
    assert chosen[:2] == by_rank([2, 5])
    assert chosen[2] == 4
    assert len(chosen) == 3


def test_provincial_quotas_are_filled_before_the_rest():
    applications = [app(i, province="31") for i in range(1, 20)] + [app(100, province="94")]
    inputs = published(applications, quota=5, province_quotas={"94": 1})
    chosen = verify_selection.select(inputs)
    assert chosen[0] == 100
    assert chosen[1:] == by_rank(range(1, 20))[:4]


def test_a_family_never_exceeds_its_limit_counting_earlier_waves():
    applications = [
        app(1, family="A"),
        app(2, family="A"),
        app(3, family="B"),
        app(4, family="B"),
        app(5, family="B"),
    ]
    inputs = published(applications, quota=5, family_used={"A": 1})  # A had one in an earlier wave
    chosen = verify_selection.select(inputs)
    families = Counter("A" if i in (1, 2) else "B" for i in chosen)
    assert families == Counter({"A": 1, "B": 2})


def test_random_waves_respect_every_rule():
    rng = random.Random(7)
    applications = [
        app(
            i,
            province=rng.choice(["11", "32", "94"]),
            priority=rng.choice(["", "", "", "laid_off"]),
            family=f"kk{rng.randrange(400)}",
        )
        for i in range(1, 1001)
    ]
    family_used = {
        f"kk{k}": 1 for k in range(0, 400, 4)
    }  # a quarter of families have a participant
    inputs = published(
        applications,
        quota=300,
        priority_order=["laid_off"],
        province_quotas={"94": 120},
        family_used=family_used,
    )
    chosen = verify_selection.select(inputs)
    assert len(chosen) == 300 == len(set(chosen))
    by_id = {a["id"]: a for a in applications}
    per_family = Counter(by_id[i]["family"] for i in chosen)
    for family, count in per_family.items():
        assert count + family_used.get(family, 0) <= 2
    assert sum(1 for i in chosen if by_id[i]["province"] == "94") >= 120
    assert verify_selection.select(inputs) == chosen  # the same inputs give the same list


def run_tool(tmp_path, inputs, selected):
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    (tmp_path / "selected.json").write_text(json.dumps(selected))
    return subprocess.run(
        [sys.executable, str(TOOL), str(tmp_path / "inputs.json"), str(tmp_path / "selected.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_tool_confirms_a_true_list_and_catches_a_tampered_one(tmp_path):
    inputs = published([app(i) for i in range(1, 50)], quota=10)
    true_list = verify_selection.select(inputs)
    confirmed = run_tool(tmp_path, inputs, true_list)
    assert confirmed.returncode == 0
    assert confirmed.stdout.strip() == "MATCH: 10 selected from 49 applications, seed verified"

    outsider = next(i for i in range(1, 50) if i not in true_list)
    tampered = [*true_list[:-1], outsider]
    caught = run_tool(tmp_path, inputs, tampered)
    assert caught.returncode == 1
    assert f"published but not selected by the rule: [{outsider}]" in caught.stdout
    assert f"selected by the rule but not published: [{true_list[-1]}]" in caught.stdout


def test_the_tool_refuses_a_seed_that_does_not_match_the_commitment(tmp_path):
    inputs = published([app(i) for i in range(1, 5)])
    selected = verify_selection.select(inputs)
    inputs["seed"] = "another-seed"
    refused = run_tool(tmp_path, inputs, selected)
    assert refused.returncode == 1
    assert "does not match the commitment" in refused.stdout


@pytest.mark.parametrize("duplicate", [True])
def test_a_list_with_a_repeated_id_is_a_mismatch(tmp_path, duplicate):
    inputs = published([app(i) for i in range(1, 20)], quota=4)
    selected = verify_selection.select(inputs)
    assert run_tool(tmp_path, inputs, [*selected, selected[0]]).returncode == 1
