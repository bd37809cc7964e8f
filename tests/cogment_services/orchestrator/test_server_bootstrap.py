"""``cogment_services._server``: the bootstrap shared by every service."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter

from cogment_services import _server


def test_bind_free_port_and_port_in_use() -> None:
    async def scenario() -> None:
        first = _server.create_server()
        port = _server.bind_server(first, "127.0.0.1", 0)
        assert port > 0
        second = _server.create_server()
        with pytest.raises(_server.ServiceStartupError, match="cannot bind"):
            _server.bind_server(second, "127.0.0.1", port)
        await first.start()
        await _server.stop_server(first, 0.1)

    asyncio.run(scenario())


async def test_status_file_and_signal(tmp_path: Path) -> None:
    status_path = tmp_path / "status"
    status = _server.StatusFile(status_path)
    events: list[str] = []

    async def start() -> None:
        events.append("start")
        loop = asyncio.get_running_loop()
        loop.call_later(0.1, os.kill, os.getpid(), signal.SIGTERM)

    async def stop() -> None:
        events.append("stop")

    await asyncio.wait_for(_server.run_until_signal(start, stop, status), 10)
    assert events == ["start", "stop"]
    assert status_path.read_text() == "IRT"


async def test_run_until_stopped_event_and_no_status_file() -> None:
    stopped = asyncio.Event()
    calls: list[str] = []

    async def start() -> None:
        calls.append("start")
        stopped.set()

    async def stop() -> None:
        calls.append("stop")

    await asyncio.wait_for(_server.run_until_signal(start, stop, None, stopped), 10)
    assert calls == ["start", "stop"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_prometheus_exporters_use_their_own_registry() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    Counter("things", "things", registry=first).inc(3)
    Counter("things", "things", registry=second).inc(5)
    exporters: list[_server.PrometheusExporter] = []
    try:
        # One after the other: a free port is found by binding then releasing it, so two
        # looked up before either exporter binds may be the same port.
        for registry in (first, second):
            exporter = _server.PrometheusExporter(registry, _free_port(), host="127.0.0.1")
            exporters.append(exporter)
            exporter.start()
        texts = [
            urllib.request.urlopen(f"http://127.0.0.1:{e.port}/metrics", timeout=5).read().decode()
            for e in exporters
        ]
    finally:
        for exporter in exporters:
            exporter.stop()
    assert "things_total 3.0" in texts[0] and "things_total 5.0" not in texts[0]
    assert "things_total 5.0" in texts[1]
    disabled = _server.PrometheusExporter(CollectorRegistry(), 0)
    disabled.start()
    assert disabled.port is None


def test_cli_logging_levels(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        log_file = tmp_path / "service.log"
        _server.setup_cli_logging("trace", str(log_file))
        assert root.level == _server.TRACE
        logging.getLogger("cogment.services.test").log(_server.TRACE, "very fine")
        for handler in root.handlers:
            handler.flush()
        assert "very fine" in log_file.read_text()
        _server.setup_cli_logging("off")
        assert root.level > logging.CRITICAL
        with pytest.raises(_server.ServiceStartupError, match="unknown level"):
            _server.setup_cli_logging("verbose")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)


def test_env_default_and_parse_bool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("O_TEST_A", raising=False)
    monkeypatch.setenv("O_TEST_B", "b")
    assert _server.env_default("O_TEST_A", "O_TEST_B") == "b"
    assert _server.env_default("O_TEST_A", default="d") == "d"
    assert _server.parse_bool("Yes") is True
    assert _server.parse_bool("0") is False
    with pytest.raises(Exception, match="not a boolean"):
        _server.parse_bool("maybe")
