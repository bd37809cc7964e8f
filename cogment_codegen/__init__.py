"""The typed Cogment code generator: ``cogment.yaml`` in, a typed ``cog_settings`` package out."""

__all__: list[str] = []
