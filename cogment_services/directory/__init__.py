"""The Directory service: where Cogment services register and ``cogment://discover`` is resolved.

- :class:`Directory`: the embeddable server (``async with Directory(port=0) as d: d.endpoint``);
- ``cogment services directory``: :func:`cogment_services.directory._cli.main`;
- ``cogment client directory ...``: :func:`cogment_services.directory._client_cli.main`.
"""

from __future__ import annotations

from cogment_services.directory._service import DEFAULT_PERSISTENCE_FILE, DEFAULT_PORT, Directory

__all__ = ["DEFAULT_PERSISTENCE_FILE", "DEFAULT_PORT", "Directory"]
