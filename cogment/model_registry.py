"""Deprecated Model Registry client, v1 API (the published SDK's ``cogment.model_registry``).

New code uses :mod:`cogment.model_registry_v2` (``Context.get_model_registry_v2``).
"""

from cogment._model_registry_v1 import Model, ModelInfo, ModelRegistry, VersionInfo

__all__ = ["Model", "ModelInfo", "ModelRegistry", "VersionInfo"]
