"""The flow siting models, re-exported from :mod:`swapnet.siting.flow`.

Kept so that ``from swapnet.siting.flow_models import flow_refueling`` keeps working; new code
imports from :mod:`swapnet.siting`.
"""

from swapnet.siting.flow import flow_capturing, flow_refueling

__all__ = ["flow_capturing", "flow_refueling"]
