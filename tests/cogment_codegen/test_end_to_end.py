"""What the annotation says is what arrives: a real trial on the embedded Orchestrator hands each
implementation the generated session class, with messages of the spec's types."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cogment_codegen import generate
from tests.cogment_codegen.golden import ROOT, spec_of

SCRIPT = Path(__file__).with_name("_trial_with_settings.py")


def test_trial_hands_the_generated_types(tmp_path: Path) -> None:
    generate(spec_of("several_classes"), tmp_path)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "environment.config": ["EnvConfig"],
        "environment.player_action": ["PlayerAction"],
        "environment.referee_action": ["RefereeAction"],
        "environment.session": ["EnvironmentSession"],
        "environment.spectator_action": ["PlayerAction"],  # do_action(None): an empty action
        "player.config": ["PlayerConfig"],
        "player.observation": ["Observation"],
        "player.session": ["PlayerSession"],
        "referee.config": ["RefereeConfig"],
        "referee.observation": ["RefereeObservation"],
        "referee.session": ["RefereeSession"],
        "spectator.observation": ["Observation"],
        "spectator.session": ["SpectatorSession"],
    }
