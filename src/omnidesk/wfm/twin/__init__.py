"""The digital twin: what-if simulation of a contact center through the real routing engine.

    study = load_study(Path("examples/twin/day.yaml"))
    report = run_study(study, replications=10, seed=1)

A scenario (YAML, see docs/wfm.md "Digital twin") describes queues and agents exactly as the
routing engine takes them, the customers who arrive, and what-if variants. The simulator
drives `omnidesk.core.routing.Engine` on a virtual clock with common random numbers, so the
variants of a study see identical customers and the rules under test are the real ones.
"""

from omnidesk.wfm.twin.errors import ScenarioError
from omnidesk.wfm.twin.study import Study, load_study, run_study, study_from_data

__all__ = ["ScenarioError", "Study", "load_study", "run_study", "study_from_data"]
