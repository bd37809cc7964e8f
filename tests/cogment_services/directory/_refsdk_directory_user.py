# mypy: ignore-errors
# (runs on the published SDK, whose API our type stubs do not describe)
"""Runs on the PUBLISHED SDK 2.10.1 (Python 3.10 oracle venv) and, unchanged, on ours: only the
public API both share is used (the same test code must give the same results).

Usage: python _refsdk_directory_user.py <directory grpc:// endpoint>

Serves an actor implementation (two classes) and an environment with ``serve_all_registered``
registered in the given Directory, resolves ``cogment://discover`` endpoints with the published
SDK's Directory client, prints ``RESOLVED <what> <url>`` lines then ``READY <served port>``, waits
for a line on stdin, stops serving (which deregisters) and prints ``DONE``.
"""

import asyncio
import contextlib
import sys
import types

from google.protobuf import wrappers_pb2

import cogment
from cogment.actor import ActorClass, ActorClassList
from cogment.directory import ServiceType


async def main(directory_url: str) -> None:
    context = cogment.Context(
        user_id="interop",
        cog_settings=types.SimpleNamespace(
            actor_classes=ActorClassList(
                ActorClass("player", None, wrappers_pb2.StringValue, wrappers_pb2.StringValue),
                ActorClass("referee", None, wrappers_pb2.StringValue, wrappers_pb2.StringValue),
            )
        ),
        directory_endpoint=cogment.Endpoint(directory_url),
    )

    async def actor(session):  # never run: no trial in this test
        pass

    async def environment(session):
        pass

    context.register_actor(actor, "smart", ["player", "referee"], properties={"team": "red"})
    context.register_environment(environment, "envimpl", properties={"zone": "1"})
    serving = asyncio.create_task(
        context.serve_all_registered(
            cogment.ServedEndpoint(port=0), directory_registration_host="127.0.0.1"
        )
    )
    directory = context.get_context_directory()
    for _ in range(200):
        if (
            len(await directory.inquire_by_type(ServiceType.ACTOR, {"__implementation": "smart"}))
            == 2
        ):
            break
        await asyncio.sleep(0.05)
    else:
        raise SystemExit("registration did not show up in the Directory")

    explicit = await directory.get_inquired_endpoint(
        cogment.Endpoint("cogment://discover/actor?__actor_class=referee&team=red")
    )
    print("RESOLVED explicit", explicit.url)
    implicit = await directory.get_inquired_endpoint(
        cogment.Endpoint("cogment://discover?zone=1"),
        ServiceType.ENVIRONMENT,
        {"__implementation": "envimpl"},
    )
    print("RESOLVED context", implicit.url)
    print("READY", context.served_port, flush=True)

    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    serving.cancel()  # serve_all_registered deregisters on the way out
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(serving, 10)
    print("DONE", flush=True)


asyncio.run(main(sys.argv[1]))
