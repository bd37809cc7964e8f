"""Published module name ``cogment.actor`` (used by generated ``cog_settings``): actor classes
and the actor session. Thin re-export of :mod:`cogment._actor`."""

from cogment._actor import ActorClass, ActorClassList, ActorSession

__all__ = ["ActorClass", "ActorClassList", "ActorSession"]
