"""The published SDK 2.10.1 (Python 3.10 oracle) against OUR Directory, and the same program on
our SDK giving the same results.

It registers its served services with ``serve_all_registered``, resolves ``cogment://discover``
endpoints through our Directory, and deregisters on exit; our side checks the entries, health
checks them through the published SDK's ``Status`` and resolves them with our SDK client.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from cogment._directory import Directory as DirectoryClient
from cogment._endpoint_url import DiscoveryContext, DiscoveryQuery, ServiceType
from cogment._version import __version__ as our_version
from cogment_services.directory import Directory
from tests._support.refsdk import reference_python

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

SCRIPT = Path(__file__).with_name("_refsdk_directory_user.py")


async def read_line(stream: asyncio.StreamReader, what: str) -> str:
    line = await asyncio.wait_for(stream.readline(), 60)
    if not line:
        raise AssertionError(f"the published SDK exited before printing {what}")
    return line.decode().strip()


@pytest.mark.parametrize("sdk", ["published", "ours"])
async def test_published_sdk_registers_and_resolves_through_our_directory(
    tmp_path: Path, sdk: str
) -> None:
    if sdk == "published":
        python, version = await asyncio.to_thread(reference_python), "2.10.1"
    else:
        python, version = Path(sys.executable), our_version
    async with (
        Directory(port=0, health_check_interval=3600) as directory,
        DirectoryClient.connect(directory.endpoint, timeout=5) as client,
    ):
        process = await asyncio.create_subprocess_exec(
            str(python),
            str(SCRIPT),
            directory.endpoint,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,  # never the repo root: our ``cogment`` package would shadow theirs
        )
        assert process.stdout is not None and process.stdin is not None
        try:
            explicit = await read_line(process.stdout, "RESOLVED explicit")
            context = await read_line(process.stdout, "RESOLVED context")
            ready = await read_line(process.stdout, "READY")
            port = int(ready.split()[1])
            served = f"grpc://127.0.0.1:{port}"
            assert explicit == f"RESOLVED explicit {served}"
            assert context == f"RESOLVED context {served}"

            actors = await client.inquire(DiscoveryQuery(ServiceType.ACTOR))
            assert sorted(info.properties["__actor_class"] for info in actors) == [
                "player",
                "referee",
            ]
            for info in actors:
                assert info.url == served and not info.use_ssl and not info.permanent
                assert dict(info.properties) == {
                    "__actor_class": info.properties["__actor_class"],
                    "__implementation": "smart",
                    "__registration_source": "PythonSDK-Implicit",
                    "__version": version,
                    "team": "red",
                }
            (environment,) = await client.inquire(DiscoveryQuery(ServiceType.ENVIRONMENT))
            assert environment.properties["__implementation"] == "envimpl"

            # our health checks call the published SDK's Status: everything stays visible
            await directory.check_health_now()
            for entry in directory.registry.entries():
                assert not entry.hidden
                assert entry.load is not None and 0 <= entry.load <= 254

            resolved = await client.resolve(
                "cogment://discover", DiscoveryContext.actor("referee", "smart")
            )
            assert resolved.url == served
            resolved = await client.resolve(
                "cogment://discover?zone=1", DiscoveryContext.environment("envimpl")
            )
            assert resolved.url == served

            process.stdin.write(b"stop\n")
            await process.stdin.drain()
            assert await read_line(process.stdout, "DONE") == "DONE"
            assert await asyncio.wait_for(process.wait(), 30) == 0
            assert len(directory.registry) == 0  # everything deregistered
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            if process.stderr is not None and process.returncode:
                sys.stderr.write((await process.stderr.read()).decode())
