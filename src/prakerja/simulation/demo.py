"""The demo's 2020: a simulation of about 2.000 registrants, so that every page has data on first
start (unless PRAKERJA_DEMO_SIMULATION is false). It runs once per demo database; a demo database
made before the simulation existed keeps what it has."""

from collections.abc import Callable

from prakerja.config import env
from prakerja.simulation.models import SimulationState
from prakerja.simulation.run import simulate
from prakerja.waves.models import Participant, Wave

DEMO_SCALE = 2_000 / 23_170_000  # of 2020's registrants
DEMO_SEED = 2020


def demo_simulation_seed(log: Callable[[str], None]) -> list[str]:
    """Lines for the demo's printout."""
    state = SimulationState.objects.first()
    if state is None and (Wave.objects.exists() or not env.get_bool("PRAKERJA_DEMO_SIMULATION")):
        return []
    if state is None or state.finished_at is None:
        log("Simulating the 2020 program at 1:11.585 (about a minute) …")
        outcome = simulate(scale=DEMO_SCALE, seed=DEMO_SEED, log=lambda line: None)
        if outcome is not None and not outcome.report.ok:
            log("The demo's simulation found problems: " + "; ".join(outcome.report.problems))
    return [
        f"  2020 simulated: {Participant.objects.count()} participants of waves 1–7 with their "
        "orders, reviews, accounts, incentives and surveys (`prakerja simulate` for more)"
    ]
