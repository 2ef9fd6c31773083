"""AI data centre: bids for a country's allocated power at a high willingness to pay.

A data centre is announced (an ``ai_demand`` shock) with a load in MW, a willingness to
pay in USD/MWh and a build-out lead time; from the step its build-out ends it draws power.
Power under an allocation goes to the highest bidders first (``agents/power.py``): when AI
pays more per MWh than mining earns, AI is served first and mining gets what is left, so
a growing AI load can crowd mining out of the same megawatts.
"""

from __future__ import annotations

import mesa


class DataCentre(mesa.Agent):
    """One announced AI load in one country."""

    def __init__(self, model: mesa.Model, country: str, load_mw: float, willingness_to_pay_usd_per_mwh: float,
                 ready_step: int, name: str = ""):
        super().__init__(model)
        self.country = country
        self.name = name
        self.load_mw = load_mw
        self.willingness_to_pay_usd_per_mwh = willingness_to_pay_usd_per_mwh
        self.ready_step = ready_step
        self.served_mw = 0.0

    def built_mw(self, step: int) -> float:
        """MW that can draw power at ``step`` (all of it once the build-out is done)."""
        return self.load_mw if step >= self.ready_step else 0.0

    def committed_mw(self) -> float:
        """MW claimed from the allocation, built or not (miners cannot plan on it)."""
        return self.load_mw
