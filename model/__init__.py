"""The model: scenario loading and validation, networks, market, recorder, and the Model.

Public face::

    from model import build_model, load_scenario, CryptoAdoptionModel, ScenarioError
"""

from model.errors import ScenarioError
from model.scenario import Scenario, available_scenarios, load_scenario

__all__ = ["CryptoAdoptionModel", "Scenario", "ScenarioError", "available_scenarios", "build_model",
           "load_scenario"]


def __getattr__(name: str):
    """``CryptoAdoptionModel`` and ``build_model`` load ``model.model`` on first use: agents
    import a leaf module of this package (``model.units``) at run time, and
    an eager import of ``model.model`` here (which imports the agents) would make that a cycle."""
    if name in ("CryptoAdoptionModel", "build_model"):
        from model import model as _model_module
        return getattr(_model_module, name)
    raise AttributeError(f"module 'model' has no attribute {name!r}")
