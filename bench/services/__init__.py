"""Services: the Trial Datastore and the Model Registry under load, each against a baseline
measured in the same run.

- ``datastore ingest``: one trial of 10 actors with 1 KiB actions (and a 1 KiB observation)
  run by ``cogment services orchestrator`` and logged to ``cogment services trial_datastore``
  (memory, then ``--file_storage`` SQLite); samples per second from the start of the trial
  until the Datastore holds every sample. Baseline: the same trial without datalog.
- ``datastore retrieval``: ``Datastore.all_samples`` over that trial, every actor's
  observation and action decoded. Baseline: parsing the same serialized samples from a file.
- ``model registry``: ``store_model`` then ``retrieve_model`` of a 64 MiB model (8 MiB with
  ``--quick``) on ``cogment services model_registry``, in MiB/s. Baseline: writing the same
  bytes to a local file (fsync + rename) and reading them back.

``python -m bench services [--quick]``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
from pathlib import Path

from bench._measure import Measurement
from bench.services._datastore import (
    ACTORS,
    PAYLOAD,
    components,
    file_read_baseline,
    read_samples,
    run_trial,
)
from bench.services._models import file_write_and_read, store_and_retrieve
from bench.services._processes import cogment_service, free_port

__all__ = ["run"]

_MIB = 1024 * 1024


async def _datastore(quick: bool, folder: Path) -> list[Measurement]:
    ticks = 100 if quick else 1000
    repeat = 1 if quick else 5
    orchestrator_port = free_port()
    rates: dict[str, list[float]] = {"none": [], "memory": [], "sqlite": []}
    reads: dict[str, list[float]] = {"memory": [], "sqlite": [], "file": []}
    with cogment_service(
        "orchestrator",
        f"--lifecycle_port={orchestrator_port}",
        f"--actor_port={orchestrator_port}",  # its default, 9000, may be taken
        folder=folder,
    ):
        orchestrator = f"grpc://127.0.0.1:{orchestrator_port}"
        async with components(ticks) as (ctx, port, ended):
            await run_trial(ctx, port, ended, orchestrator, None)  # warm-up
            modes = ["none", "memory", "sqlite"]
            for index in range(repeat):
                # rotate the order so that a drift of the machine's load hits every mode alike
                for mode in modes[index % 3 :] + modes[: index % 3]:
                    if mode == "none":
                        run = await run_trial(ctx, port, ended, orchestrator, None)
                        rates["none"].append(run.ticks / run.seconds)
                        continue
                    datastore_port = free_port()
                    flags = [f"--port={datastore_port}"]
                    if mode == "sqlite":
                        flags.append(f"--file_storage={folder / f'trials-{index}.db'}")
                    with cogment_service("trial_datastore", *flags, folder=folder):
                        url = f"grpc://127.0.0.1:{datastore_port}"
                        run = await run_trial(ctx, port, ended, orchestrator, url)
                        rates[mode].append(run.ticks / run.seconds)
                        count, seconds, raw = await read_samples(url, run.trial_id)
                        if count < run.ticks:
                            raise RuntimeError(f"read {count} samples of {run.ticks}")
                        reads[mode].append(count / seconds)
                        if mode == "memory":
                            reads["file"].append(file_read_baseline(raw, folder))
    none = statistics.median(rates["none"])
    file_read = statistics.median(reads["file"])
    what = f"{ACTORS} actors x {PAYLOAD // 1024} KiB"
    results = [
        Measurement(f"datastore ingest ({what})", "no datalog", none, "samples/s"),
    ]
    for mode, label in (("memory", "memory"), ("sqlite", "sqlite (--file_storage)")):
        results.append(
            Measurement(
                f"datastore ingest ({what})",
                label,
                statistics.median(rates[mode]),
                "samples/s",
                "no datalog",
                none,
            )
        )
    results.append(
        Measurement(f"datastore retrieval ({what})", "local file parse", file_read, "samples/s")
    )
    for mode, label in (
        ("memory", "SDK all_samples, memory"),
        ("sqlite", "SDK all_samples, sqlite"),
    ):
        results.append(
            Measurement(
                f"datastore retrieval ({what})",
                label,
                statistics.median(reads[mode]),
                "samples/s",
                "local file parse",
                file_read,
            )
        )
    return results


async def _model_registry(quick: bool, folder: Path) -> list[Measurement]:
    size = (8 if quick else 64) * _MIB
    repeat = 1 if quick else 3
    model = os.urandom(size)
    port = free_port()
    timings: dict[str, list[float]] = {"store": [], "retrieve": [], "write": [], "read": []}
    with cogment_service(
        "model_registry", f"--port={port}", f"--archive_dir={folder / 'archive'}", folder=folder
    ):
        await store_and_retrieve(f"grpc://127.0.0.1:{port}", "warm-up", model[:_MIB])
        for index in range(repeat):
            stored, fetched = await store_and_retrieve(
                f"grpc://127.0.0.1:{port}", f"model-{index}", model
            )
            written, read = file_write_and_read(folder, model)
            timings["store"].append(stored)
            timings["retrieve"].append(fetched)
            timings["write"].append(written)
            timings["read"].append(read)
    mib = size / _MIB

    def rate(key: str) -> float:
        return mib / statistics.median(timings[key])

    workload = f"model registry {int(mib)} MiB"
    return [
        Measurement(f"{workload}: store", "local file write+fsync", rate("write"), "MiB/s"),
        Measurement(
            f"{workload}: store",
            "store_model",
            rate("store"),
            "MiB/s",
            "local file write+fsync",
            rate("write"),
        ),
        Measurement(f"{workload}: retrieve", "local file read", rate("read"), "MiB/s"),
        Measurement(
            f"{workload}: retrieve",
            "retrieve_model",
            rate("retrieve"),
            "MiB/s",
            "local file read",
            rate("read"),
        ),
    ]


async def _run(quick: bool) -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="bench-services-") as tmp:
        folder = Path(tmp)
        results = await _datastore(quick, folder)
        results += await _model_registry(quick, folder)
    return results


def run(quick: bool) -> list[Measurement]:
    """The suite's measurements (``quick``: 100-tick trials and an 8 MiB model, once)."""
    return asyncio.run(_run(quick))
