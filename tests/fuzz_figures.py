"""The figures of a schemathesis run, written under the tests' report: calls per operation,
generation mode and status, for docs/security.md and reviews of a long run. Nothing is asserted on
them: the checks are the tests."""

import time
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis

# (operation, generation mode, status) -> calls
Calls = Counter[tuple[str, str, int]]


def count_call(calls: Calls, case: schemathesis.Case, status: int) -> None:
    mode = case.meta.generation.mode.value if case.meta else "explicit"
    calls[(case.operation.label, mode, status)] += 1


def report_after(
    request: pytest.FixtureRequest, calls: Calls, *, title: str, examples: int
) -> Iterator[None]:
    """A module fixture's body: yields while the module runs, then writes the figures once (the
    counter is emptied, so a module that imports the fixture does not write them again)."""
    started = time.perf_counter()
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not calls:
        return
    seconds = time.perf_counter() - started
    by_operation: Counter[str] = Counter()
    server_errors = 0
    for (operation, _, status), count in calls.items():
        by_operation[operation] += count
        server_errors += count if status >= 500 else 0
    lines = [
        f"{title}: {len(by_operation)} operations, {sum(by_operation.values())} calls, "
        f"{server_errors} answers 5xx, {seconds:.0f} s (PRAKERJA_FUZZ_EXAMPLES={examples})"
    ]
    for operation, count in sorted(by_operation.items()):
        statuses = ", ".join(
            f"{mode} {status}: {n}"
            for (name, mode, status), n in sorted(calls.items())
            if name == operation
        )
        lines.append(f"  {operation}: {count} calls ({statuses})")
    calls.clear()
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)
