"""Agent types, one module each, with the rules of their phase of the week: country
(stances, incidents), miner (fleets) and mining_sector (the sector), exchange (entry, exit, trade
routing), household (the population), remittance (flows), datacentre (AI loads).

Agents reach the model only through ``self.model`` (or the model passed to a phase's
function); ``agents`` never imports ``model.model``.
"""

from agents.country import Country
from agents.exchange import Exchange
from agents.household import Household, HouseholdPopulation
from agents.miner import MinerFleet
from agents.mining_sector import MiningSector

__all__ = ["Country", "Exchange", "Household", "HouseholdPopulation", "MinerFleet", "MiningSector"]
