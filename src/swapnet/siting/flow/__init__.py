"""Flow-based siting: the flow-capturing (FCLM) and flow-refuelling (FRLM) location models.

* :mod:`~swapnet.siting.flow._instance` — the instance as arrays, input checks, cover intervals;
* :mod:`~swapnet.siting.flow._reduce` — reductions and the greedy;
* :mod:`~swapnet.siting.flow._model` — the MILP and the capacitated variant's inputs;
* :mod:`~swapnet.siting.flow._benders` — the Benders LP bound and Benders MILP;
* :mod:`~swapnet.siting.flow._solve` — the exact solve and the plan;
* :mod:`~swapnet.siting.flow._verify` — independent re-checks;
* :mod:`~swapnet.siting.flow.api` — :func:`flow_capturing` and :func:`flow_refueling`.
"""

from swapnet.siting.flow.api import flow_capturing, flow_refueling

__all__ = ["flow_capturing", "flow_refueling"]
