#!/usr/bin/env python3
"""Check a wave's published selection yourself: Python 3.11+, standard library only.

    python3 verify_selection.py inputs.json [selected.json]

`inputs.json` is what the program office publishes when a wave is selected; `selected.json` is the
published list of selected application ids (a JSON array), or the `selected` field of inputs.json.
The script checks that the revealed seed matches the commitment published before the wave closed,
recomputes the selection by the rule below, and prints MATCH (exit 0) or MISMATCH with the
differences (exit 1).

The rule (docs/selection.md explains it in prose):
  rank(application) = HMAC-SHA256(key = seed as UTF-8 bytes, message = application id in decimal),
  as lowercase hex; a lower rank comes first. Then, never beyond `quota` in total:
  1. priority groups, in the published `priority_order`: each group's applications by rank;
  2. provincial quotas: for each province in ascending code, its applications by rank until the
     province holds `province_quotas[code]` selected (priority picks count towards it);
  3. everyone else by rank until `quota` is reached.
  At every step an application is skipped if its family (an opaque per-wave token of the family
  card) already has `max_per_family` participants: `family_used[family]` from earlier waves plus
  those selected in this wave.
"""

import hashlib
import hmac
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def rank(seed: str, application_id: int) -> str:
    return hmac.new(seed.encode(), str(application_id).encode(), hashlib.sha256).hexdigest()


def commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def select(inputs: dict[str, Any]) -> list[int]:
    """The selected application ids, in the order they were picked."""
    seed = inputs["seed"]
    quota = int(inputs["quota"])
    max_per_family = int(inputs["max_per_family"])
    applications = sorted(inputs["applications"], key=lambda a: rank(seed, int(a["id"])))
    chosen: list[int] = []
    taken: set[int] = set()
    family_count: Counter[str] = Counter(
        {family: int(used) for family, used in inputs.get("family_used", {}).items()}
    )
    province_count: Counter[str] = Counter()

    def take(candidates: list[dict[str, Any]], stop: Any) -> None:
        for application in candidates:
            if len(chosen) >= quota or stop():
                return
            number = int(application["id"])
            if number in taken or family_count[application["family"]] >= max_per_family:
                continue
            chosen.append(number)
            taken.add(number)
            family_count[application["family"]] += 1
            province_count[application["province"]] += 1

    for group in inputs.get("priority_order", []):
        take([a for a in applications if a.get("priority") == group], lambda: False)
    for province, target in sorted(inputs.get("province_quotas", {}).items()):
        take(
            [a for a in applications if a["province"] == province],
            lambda province=province, target=target: province_count[province] >= int(target),
        )
    take(applications, lambda: False)
    return chosen


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__)
        return 2
    inputs = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    published = (
        json.loads(Path(argv[2]).read_text(encoding="utf-8"))
        if len(argv) == 3
        else inputs["selected"]
    )
    if commitment(inputs["seed"]) != inputs["commitment"]:
        print("MISMATCH: the revealed seed does not match the commitment published before closing")
        return 1
    expected = select(inputs)
    missing = sorted(set(expected) - set(map(int, published)))
    extra = sorted(set(map(int, published)) - set(expected))
    if missing or extra or len(published) != len(expected):
        print(f"MISMATCH: {len(published)} published, {len(expected)} by the rule")
        print(
            f"  selected by the rule but not published: {missing[:20]}{' …' if len(missing) > 20 else ''}"
        )
        print(
            f"  published but not selected by the rule: {extra[:20]}{' …' if len(extra) > 20 else ''}"
        )
        return 1
    print(
        f"MATCH: {len(expected)} selected from {len(inputs['applications'])} applications, seed verified"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
