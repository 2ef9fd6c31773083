"""Agent types, one module each: country, miner (fleet), exchange, household.

Agents reach the model only through ``self.model``; ``agents`` never imports ``model.model``.
"""

from agents.country import Country
from agents.exchange import Exchange
from agents.household import Household
from agents.miner import MinerFleet

__all__ = ["Country", "Exchange", "Household", "MinerFleet"]
