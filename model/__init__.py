"""The model: scenario loading and validation, networks, market, recorder, and the Model.

Public face::

    from model import build_model, load_scenario, CryptoAdoptionModel, ScenarioError
"""

from model.errors import ScenarioError
from model.model import CryptoAdoptionModel, build_model
from model.scenario import Scenario, available_scenarios, load_scenario

__all__ = ["CryptoAdoptionModel", "Scenario", "ScenarioError", "available_scenarios", "build_model",
           "load_scenario"]
