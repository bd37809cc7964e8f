"""Model Registry client, v2 API (the published SDK's ``cogment.model_registry_v2`` module)."""

from cogment._model_registry import LatestModel, ModelInfo, ModelIterationInfo, ModelRegistry

__all__ = ["LatestModel", "ModelInfo", "ModelIterationInfo", "ModelRegistry"]
