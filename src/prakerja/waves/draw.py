"""The draw itself, as pure logic over candidates the database already narrowed down.

`draw` follows the rule of docs/selection.md step by step, exactly as `tools/verify_selection.py`
does, over the candidates the database returned. The database returns, for each bucket (every
application; each priority group; each province with a quota), only the bucket's applications whose
rank60 lies below the bucket's threshold: a prefix of that bucket in rank order. If a step of the rule
runs through its bucket's prefix without finishing, the prefix was too short: `draw` raises
`PrefixTooShort` naming the bucket, and the caller fetches again with a longer prefix. So the result
is always the rule's result, however the thresholds were guessed.

Whether a candidate still qualifies, and its family, are asked of `Facts` only when the rule reaches
the candidate (in batches just ahead of it), so the re-check reads what the rule needs and the
applications recorded as ineligible are exactly those the rule met: never an artefact of thresholds.
"""

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from prakerja.waves.lottery import RANK60_SPACE

GLOBAL = ("all", "")


class Candidate(NamedTuple):
    # A named tuple, not a frozen dataclass: a national draw builds some 450.000 of them, and a
    # frozen dataclass takes ten times as long to build.
    id: int
    province: str
    priority: str
    rank: str  # full HMAC hex
    rank60: int


class Fact(NamedTuple):
    family: str
    ineligible: str  # the reason the re-check failed; "" when the candidate still qualifies
    family_used: int  # participants of the family drawn before this wave


class Facts(Protocol):
    def __call__(self, application_ids: list[int]) -> dict[int, Fact]: ...


class FactCache:
    """Facts read once per candidate across retries of the draw."""

    def __init__(self, read: Facts, batch: int = 20_000) -> None:
        self.read = read
        self.batch = batch
        self.known: dict[int, Fact] = {}

    def ensure(self, ahead: list[Candidate]) -> None:
        wanted = [c.id for c in ahead if c.id not in self.known][: self.batch]
        if wanted:
            self.known.update(self.read(wanted))


class Drawn(NamedTuple):
    chosen: list[int]  # in the order picked
    ineligible: dict[int, str]  # application id -> reason, for the candidates the rule met


@dataclass
class Buckets:
    """Thresholds (in rank60 units) per bucket: ("all", ""), ("priority", g), ("province", p)."""

    threshold: dict[tuple[str, str], int] = field(default_factory=dict)

    def full(self, bucket: tuple[str, str]) -> bool:
        return self.threshold.get(bucket, RANK60_SPACE) >= RANK60_SPACE

    def lengthen(self, bucket: tuple[str, str]) -> None:
        self.threshold[bucket] = min(RANK60_SPACE, self.threshold[bucket] * 4)


def initial_buckets(
    *,
    sizes: dict[tuple[str, str], int],
    quota: int,
    priority_order: list[str],
    province_quotas: dict[str, int],
) -> Buckets:
    """Thresholds expected to give each bucket what its step needs with a wide margin; `sizes`
    counts applications per (priority, province)."""
    total = sum(sizes.values())
    by_priority: Counter[str] = Counter()
    by_province: Counter[str] = Counter()
    for (priority, province), count in sizes.items():
        by_priority[priority] += count
        by_province[province] += count

    def threshold(need: int, size: int) -> int:
        if size == 0:
            return RANK60_SPACE
        wanted = need * 1.15 + 5 * math.sqrt(need) + 50
        return RANK60_SPACE if wanted >= size else math.ceil(RANK60_SPACE * wanted / size)

    buckets = Buckets({GLOBAL: threshold(quota, total)})
    for group in priority_order:
        buckets.threshold[("priority", group)] = threshold(quota, by_priority[group])
    for province, target in province_quotas.items():
        buckets.threshold[("province", province)] = threshold(int(target), by_province[province])
    return buckets


def row_threshold(buckets: Buckets, priority: str, province: str) -> int:
    """The threshold a row of (priority, province) is fetched under: the largest of its buckets'."""
    return max(
        buckets.threshold[GLOBAL],
        buckets.threshold.get(("priority", priority), 0),
        buckets.threshold.get(("province", province), 0),
    )


class PrefixTooShort(Exception):
    def __init__(self, bucket: tuple[str, str]) -> None:
        super().__init__(bucket)
        self.bucket = bucket


def draw(
    candidates: list[Candidate],
    *,
    buckets: Buckets,
    quota: int,
    max_per_family: int,
    facts: FactCache,
    priority_order: list[str],
    province_quotas: dict[str, int],
) -> Drawn:
    """Walk the rule over the candidates; ineligible ones are passed over and reported."""
    ordered = sorted(candidates, key=lambda c: c.rank)
    chosen: list[int] = []
    taken: set[int] = set()
    met_ineligible: dict[int, str] = {}
    picked: Counter[str] = Counter()  # participants per family drawn in this wave
    provinces: Counter[str] = Counter()

    def step(bucket: tuple[str, str], members: list[Candidate], target: int | None) -> None:
        limit = buckets.threshold[bucket]
        for position, candidate in enumerate(members):
            if len(chosen) >= quota or (target is not None and provinces[bucket[1]] >= target):
                return
            if candidate.rank60 >= limit:
                break  # past the fetched prefix of this bucket
            if candidate.id in taken:
                continue
            if candidate.id not in facts.known:
                facts.ensure(members[position : position + facts.batch])
            fact = facts.known[candidate.id]
            if fact.ineligible:
                met_ineligible[candidate.id] = fact.ineligible
                continue
            if fact.family_used + picked[fact.family] >= max_per_family:
                continue
            chosen.append(candidate.id)
            taken.add(candidate.id)
            picked[fact.family] += 1
            provinces[candidate.province] += 1
        finished = len(chosen) >= quota or (target is not None and provinces[bucket[1]] >= target)
        if not finished and not buckets.full(bucket):
            raise PrefixTooShort(bucket)

    for group in priority_order:
        step(("priority", group), [c for c in ordered if c.priority == group], None)
    for province, target in sorted(province_quotas.items()):
        step(("province", province), [c for c in ordered if c.province == province], int(target))
    step(GLOBAL, ordered, None)
    return Drawn(chosen, met_ineligible)
