"""``python -m cogment.generate`` (the published entry point) writes the published layout, which
programs written for the published SDK import unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cogment_codegen.golden import ROOT

MYGAME = Path(__file__).with_name("data") / "mygame"

PUBLISHED_STYLE_PROGRAM = """
import asyncio

import cogment
import cog_settings
import data_pb2


async def player(session):
    session.start()


async def main():
    context = cogment.Context(cog_settings=cog_settings, user_id="legacy")
    context.register_actor(impl=player, impl_name="p", actor_classes=["player", "referee"])
    classes = cog_settings.actor_classes
    assert classes.player.config_type is data_pb2.PlayerConfig
    assert classes["referee"].action_space is data_pb2.RefereeAction
    assert classes.get("referee").observation_space is data_pb2.Observation
    assert classes.get("nope") is None
    assert "player" in classes and "nope" not in classes
    assert [c.name for c in classes] == ["player", "referee"]
    assert classes.get_class_by_index(1).name == "referee"
    assert cog_settings.trial.config_type is data_pb2.TrialConfig
    assert cog_settings.environment.config_type is data_pb2.EnvConfig
    assert cog_settings.data_pb is data_pb2
    params = cogment.TrialParameters(
        cog_settings,
        config=data_pb2.TrialConfig(),
        environment_config=data_pb2.EnvConfig(size=3),
        actors=[
            cogment.ActorParameters(
                cog_settings, class_name="player", name="p1", config=data_pb2.PlayerConfig(name="x")
            )
        ],
    )
    restored = cogment.TrialParameters(cog_settings)
    restored.deserialize(params.serialize())
    assert restored.environment_config.size == 3
    assert restored.actors[0].config.name == "x"
    print("OK")


asyncio.run(main())
"""

DUMP_SPECS = """
import json
import cog_settings

def name(t):
    return None if t is None else t.DESCRIPTOR.full_name

print(json.dumps({
    "actor_classes": [
        [c.name, name(c.config_type), name(c.action_space), name(c.observation_space)]
        for c in cog_settings.actor_classes
    ],
    "trial": name(cog_settings.trial.config_type),
    "environment": name(cog_settings.environment.config_type),
    "data_pb": cog_settings.data_pb.__name__,
}))
"""


def run(args: list[str], cwd: Path, *, ours: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if ours:
        env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def legacy_output(tmp_path: Path) -> Path:
    work = tmp_path / "ours"
    shutil.copytree(MYGAME, work)
    done = run([sys.executable, "-m", "cogment.generate", "--output", "./cog_settings.py"], work)
    assert done.returncode == 0, done.stderr
    return work


def test_import_cogment_does_not_load_the_generator() -> None:
    done = run(
        [
            sys.executable,
            "-c",
            "import sys, cogment, cogment.generate\n"
            "loaded = [m for m in ('pydantic', 'jinja2', 'cogment_codegen', 'yaml') "
            "if m in sys.modules]\n"
            "assert not loaded, loaded",
        ],
        ROOT,
    )
    assert done.returncode == 0, done.stderr


def test_writes_the_published_layout_with_stubs(tmp_path: Path) -> None:
    work = legacy_output(tmp_path)
    written = sorted(p.name for p in work.iterdir() if p.is_file())
    assert written == [
        "cog_settings.py",
        "cogment.yaml",
        "data.proto",
        "data_pb2.py",
        "data_pb2.pyi",
    ]


def test_published_style_program_runs_unchanged(tmp_path: Path) -> None:
    work = legacy_output(tmp_path)
    (work / "program.py").write_text(PUBLISHED_STYLE_PROGRAM)
    done = run([sys.executable, "program.py"], work)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK"


def test_invalid_spec_exits_1_with_located_errors(tmp_path: Path) -> None:
    (tmp_path / "cogment.yaml").write_text("import:\n  proto: [data.proto]\n  python: [x]\n")
    done = run([sys.executable, "-m", "cogment.generate"], tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cogment.yaml:3:11: import.python: ")


def test_output_must_be_a_module_file(tmp_path: Path) -> None:
    from cogment.generate import CogmentGenerateError, generate

    with pytest.raises(CogmentGenerateError, match="must name the module file"):
        generate(MYGAME / "cogment.yaml", tmp_path)


@pytest.mark.interop
def test_same_attributes_as_the_published_generator(tmp_path: Path) -> None:
    from tests._support.refsdk import reference_python

    reference = str(reference_python())
    theirs = tmp_path / "theirs"
    shutil.copytree(MYGAME, theirs)
    done = run(
        [reference, "-m", "cogment.generate", "--output", "./cog_settings.py"], theirs, ours=False
    )
    assert done.returncode == 0, done.stderr
    ours = legacy_output(tmp_path)
    dumps = []
    for python, work in ((reference, theirs), (sys.executable, ours)):
        (work / "dump.py").write_text(DUMP_SPECS)
        done = run([python, "dump.py"], work, ours=python == sys.executable)
        assert done.returncode == 0, done.stderr
        dumps.append(json.loads(done.stdout))
    assert dumps[0] == dumps[1]
    assert dumps[1]["actor_classes"][0] == [
        "player",
        "mygame.PlayerConfig",
        "mygame.PlayerAction",
        "mygame.Observation",
    ]
