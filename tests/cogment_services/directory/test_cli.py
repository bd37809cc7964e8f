"""``cogment services directory`` (subprocess) and ``cogment client directory`` (in a thread)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cogment._directory import Directory as DirectoryClient
from cogment._endpoint_url import DiscoveryQuery, ServiceType
from cogment_services.directory import Directory
from cogment_services.directory._client_cli import main as client_main
from cogment_services.directory._client_cli import parse_duration, parse_properties

pytestmark = pytest.mark.timeout(60)


async def run_client(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(client_main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_parse_duration() -> None:
    assert parse_duration("30s") == 30
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1m30s") == 90
    assert parse_duration("2") == 2
    for bad in ("", "abc", "1x", "0", "-1", "s30"):
        with pytest.raises(Exception, match="duration"):
            parse_duration(bad)


def test_parse_properties() -> None:
    assert parse_properties("a=1,b") == {"a": "1", "b": ""}
    assert parse_properties("") == {}
    with pytest.raises(Exception, match="empty name"):
        parse_properties("=1")
    with pytest.raises(Exception, match="given twice"):
        parse_properties("a=1,a=2")


async def test_client_cli_register_inquire_deregister(capsys: pytest.CaptureFixture[str]) -> None:
    async with Directory(port=0) as directory:
        common = ["--directory_endpoint", directory.endpoint, "--timeout", "5s"]
        code, out, err = await run_client(
            capsys,
            *common,
            "register",
            "--host=10.1.2.3",
            "--port=9001",
            "--type=actor",
            "--properties=__actor_class=player,tag",
            "--directory_authentication_token=tok",
        )
        assert code == 0, err
        match = re.fullmatch(r"Service ID \[(\d+)\] \tSecret \[(\w+)\]\n", out)
        assert match, out
        service_id, secret = int(match.group(1)), match.group(2)

        code, out, _ = await run_client(
            capsys, *common, "inquire", "--type=actor", "--directory_authentication_token=tok"
        )
        assert code == 0
        (line,) = out.splitlines()
        found = json.loads(line)
        assert found["service_id"] == service_id
        assert found["endpoint"] == "grpc://10.1.2.3:9001"
        assert found["type"] == "actor" and found["ssl"] is False
        assert found["properties"]["__actor_class"] == "player"
        assert found["properties"]["tag"] == ""
        assert found["properties"]["__registration_source"] == "Cogment-Command_Line"

        code, out, err = await run_client(capsys, *common, "inquire", "--type=actor")
        assert (code, out) == (0, "") and "No service found" in err  # wrong (no) token

        code, out, _ = await run_client(
            capsys,
            *common,
            "inquire",
            f"--service_id={service_id}",
            "--directory_authentication_token=tok",
        )
        assert json.loads(out)["service_id"] == service_id

        code, _, err = await run_client(
            capsys,
            *common,
            "deregister",
            f"--service_id={service_id}",
            "--secret=nope",
            "--directory_authentication_token=tok",
        )
        assert code == 1 and "Wrong secret" in err
        code, out, err = await run_client(
            capsys,
            *common,
            "deregister",
            f"--service_id={service_id}",
            f"--secret={secret}",
            "--directory_authentication_token=tok",
        )
        assert code == 0, err

        code, out, err = await run_client(
            capsys,
            *common,
            "register",
            "--protocol=cogment",
            "--type=actor",
            "--permanent",
        )
        assert code == 0, err
        async with DirectoryClient.connect(directory.endpoint, timeout=5) as client:
            (info,) = await client.inquire(DiscoveryQuery(ServiceType.ACTOR))
        assert info.url == "cogment://client" and info.permanent

        code, out, _ = await run_client(capsys, *common, "wait_for_ready")
        assert code == 0 and "is ready" in out


async def test_client_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        await run_client(capsys, "register", "--type=nonsense", "--port=1")
    assert caught.value.code == 2
    assert "unknown service type [nonsense]" in capsys.readouterr().err
    code, _, err = await run_client(capsys, "inquire")
    assert code == 2 and "--service_id or --type" in err
    code, _, err = await run_client(
        capsys, "--directory_endpoint", "cogment://discover", "inquire", "--type=actor"
    )
    assert code == 1 and "must be a grpc:// URL" in err
    from .conftest import dead_port

    endpoint = f"grpc://127.0.0.1:{dead_port()}"
    code, _, err = await run_client(
        capsys, "--directory_endpoint", endpoint, "--timeout=300ms", "wait_for_ready"
    )
    assert code == 1 and "not ready after 0.3s" in err


def test_server_cli(tmp_path: Path) -> None:
    status = tmp_path / "status"
    data = tmp_path / "data.json"
    env = dict(os.environ, COGMENT_DIRECTORY_PERSISTENCE_FILE=str(data))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cogment",
            "services",
            "directory",
            "--port=0",
            f"--status_file={status}",
            "--load_balancing",
            "--log_level=warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"Directory listening on port (\d+)\n", line)
        assert match, line + (process.stderr.read() if process.stderr else "")
        endpoint = f"grpc://127.0.0.1:{match.group(1)}"

        async def use() -> dict[str, str]:
            async with DirectoryClient.connect(endpoint, timeout=5) as client:
                await client.register_host(ServiceType.ACTOR, "h", 1, permanent=True)
                return await client.status()

        statuses = asyncio.run(use())
        assert statuses["load_balancing"] == "enabled"
        assert json.loads(data.read_text())["entries"][0]["host"] == "h"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert status.read_text() == "IRT"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_server_cli_bad_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cogment", "services", "directory", "--registration_lag=-1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--registration_lag: must be >= 0" in result.stderr


def test_server_cli_reflection_without_package(tmp_path: Path) -> None:
    # simulate an environment without grpcio-reflection (None in sys.modules = ImportError)
    program = (
        "import sys; sys.modules['grpc_reflection'] = None; "
        "from cogment._cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            program,
            "services",
            "directory",
            "--port=0",
            "--persistence_file=",
            "--grpc_reflection",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "needs the grpcio-reflection package" in result.stderr
