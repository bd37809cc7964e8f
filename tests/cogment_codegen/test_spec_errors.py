"""Every invalid spec is reported as ``file:line:column: key.path: message``, exactly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cogment_codegen import SpecError, generate_files
from cogment_codegen._cli import main as cli_main

RPS_PROTO = """\
syntax = "proto3";
package rps;
enum Move { ROCK = 0; }
message Observation { Move me = 1; }
message PlayerAction { Move move = 1; }
message PlayerConfig {}
"""
BROKEN_PROTO = """\
syntax = "proto3";
package broken;
message X { Unknown u = 1; }
"""
PLAYER = """\
  - name: player
    action: {space: rps.PlayerAction}
    observation: {space: rps.Observation}
"""


def errors(tmp_path: Path, spec: str) -> str:
    (tmp_path / "rps.proto").write_text(RPS_PROTO)
    (tmp_path / "broken.proto").write_text(BROKEN_PROTO)
    for name in ("my-dir/a.proto", "import/b.proto", "1st.proto"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(f'syntax = "proto3";\nmessage M{len(name)} {{}}\n')
    (tmp_path / "uses_import.proto").write_text(
        'syntax = "proto3";\nimport "import/b.proto";\nmessage U { M14 b = 1; }\n'
    )
    (tmp_path / "cogment.yaml").write_text(textwrap.dedent(spec))
    with pytest.raises(SpecError) as caught:
        generate_files(tmp_path / "cogment.yaml", spec_display_name="cogment.yaml")
    return str(caught.value)


CASES: dict[str, tuple[str, str]] = {
    "yaml syntax": (
        "import: [proto: x\n",
        "cogment.yaml:2:1: (YAML syntax): YAML syntax error: while parsing a flow sequence, "
        "did not find expected ',' or ']'",
    ),
    "unsafe yaml tag": (
        'import:\n  proto: !!python/name:os.system ""\n',
        "cogment.yaml:2:10: (YAML syntax): YAML syntax error: could not determine a constructor "
        "for the tag 'tag:yaml.org,2002:python/name:os.system'",
    ),
    "empty file": (
        "",
        "cogment.yaml:1:1: (top level): expected a mapping with at least the key 'import', "
        "got an empty document",
    ),
    "not a mapping": (
        "- a\n- b\n",
        "cogment.yaml:1:1: (top level): expected a mapping, got a list",
    ),
    "missing import": (
        "trial: {}\n",
        "cogment.yaml:1:1: (top level): missing required key 'import'",
    ),
    "missing import.proto": (
        "import: {}\n",
        "cogment.yaml:1:9: import: missing required key 'proto'",
    ),
    "proto not a list": (
        "import:\n  proto: rps.proto\n",
        "cogment.yaml:2:10: import.proto: expected a list, got a string ('rps.proto')",
    ),
    "wrong scalar type": (
        "import:\n  proto: [rps.proto]\nactor_classes:\n  - name: 12\n"
        "    action: {space: rps.PlayerAction}\n    observation: {space: rps.Observation}\n",
        "cogment.yaml:4:11: actor_classes[0].name: expected a string, got an integer (12)",
    ),
    "missing nested key": (
        "import:\n  proto: [rps.proto]\nactor_classes:\n  - name: player\n"
        "    action: {space: rps.PlayerAction}\n",
        "cogment.yaml:4:5: actor_classes[0]: missing required key 'observation'",
    ),
    "unknown key": (
        "import:\n  proto: [rps.proto]\nactor_classes:\n  - name: player\n"
        "    actions: {space: rps.PlayerAction}\n    action: {space: rps.PlayerAction}\n"
        "    observation: {space: rps.Observation}\n",
        "cogment.yaml:5:5: actor_classes[0].actions: unknown key 'actions'; did you mean "
        "'action'? (valid keys: action, config_type, name, observation)",
    ),
    "unknown top-level key": (
        "import:\n  proto: [rps.proto]\nenvironement:\n  config_type: rps.PlayerConfig\n",
        "cogment.yaml:3:1: environement: unknown key 'environement'; did you mean 'environment'? "
        "(valid keys: actor_classes, commands, environment, import, trial, trial_params)",
    ),
    "import.python": (
        "import:\n  proto: [rps.proto]\n  python: [mymodule]\n",
        "cogment.yaml:3:11: import.python: importing Python modules from the spec is not "
        "supported in Cogment 2.x; remove 'import.python' (or leave it empty)",
    ),
    "observation.delta": (
        "import:\n  proto: [rps.proto]\nactor_classes:\n  - name: player\n"
        "    action: {space: rps.PlayerAction}\n"
        "    observation:\n      space: rps.Observation\n      delta: rps.Observation\n",
        "cogment.yaml:8:7: actor_classes[0].observation.delta: delta observations are no longer "
        "supported in Cogment 2.x; remove this key",
    ),
    "bad type name": (
        "import:\n  proto: [rps.proto]\nenvironment:\n  config_type: rps..Config\n",
        "cogment.yaml:4:16: environment.config_type: expected a protobuf message name such as "
        "'package.Message' or 'package.Outer.Inner', got a string ('rps..Config')",
    ),
    "duplicate yaml key": (
        "import:\n  proto: [rps.proto]\nimport:\n  proto: []\n",
        "cogment.yaml:3:1: import: duplicate key 'import' (first defined at line 1)",
    ),
    "proto not found and outside": (
        "import:\n  proto: [missing.proto, ../up.proto]\n",
        "cogment.yaml:2:11: import.proto[0]: proto file 'missing.proto' not found (next to the "
        "spec file)\n"
        "cogment.yaml:2:26: import.proto[1]: '../up.proto' must be a relative path inside the "
        "spec's directory (forward slashes, no '..')",
    ),
    "proto paths that are not Python module paths": (
        "import:\n  proto: [my-dir/a.proto, 1st.proto]\n",
        "cogment.yaml:2:11: import.proto[0]: 'my-dir/a.proto' cannot be compiled to an "
        "importable Python module: its folder 'my-dir' is not a Python identifier (or is a "
        "keyword)\n"
        "cogment.yaml:2:27: import.proto[1]: '1st.proto' cannot be compiled to an importable "
        "Python module: '1st_pb2' is not a Python identifier",
    ),
    "imported proto path that is not a Python module path": (
        "import:\n  proto: [uses_import.proto]\n",
        "cogment.yaml:2:10: import.proto: imported by the listed protos: 'import/b.proto' cannot "
        "be compiled to an importable Python module: its folder 'import' is not a Python "
        "identifier (or is a keyword)",
    ),
    "proto listed twice": (
        "import:\n  proto: [rps.proto, rps.proto]\n",
        "cogment.yaml:2:10: import.proto: 'rps.proto' is listed more than once",
    ),
    "proto does not compile": (
        "import:\n  proto: [broken.proto]\n",
        "cogment.yaml:2:10: import.proto: protoc failed to compile the protos:\n"
        '    broken.proto:3:13: "Unknown" is not defined.',
    ),
    "unknown type names": (
        "import:\n  proto: [rps.proto]\nactor_classes:\n  - name: player\n"
        "    action: {space: rps.PlayerActon}\n    observation: {space: Observation}\n"
        "    config_type: rps.Move\n",
        "cogment.yaml:5:21: actor_classes[0].action.space: no imported proto defines the message "
        "'rps.PlayerActon'; did you mean 'rps.PlayerAction'? (messages: rps.Observation, "
        "rps.PlayerAction, rps.PlayerConfig)\n"
        "cogment.yaml:6:26: actor_classes[0].observation.space: no imported proto defines the "
        "message 'Observation'; did you mean 'rps.Observation'? (messages: rps.Observation, "
        "rps.PlayerAction, rps.PlayerConfig)\n"
        "cogment.yaml:7:18: actor_classes[0].config_type: 'rps.Move' is an enum (in rps.proto), "
        "expected a message",
    ),
    "duplicate class": (
        f"import:\n  proto: [rps.proto]\nactor_classes:\n{PLAYER}{PLAYER}",
        "cogment.yaml:7:11: actor_classes[1].name: duplicate actor class name 'player' (first "
        "defined at line 4)",
    ),
    "class names": (
        "import:\n  proto: [rps.proto]\nactor_classes:\n"
        + PLAYER.replace("player", "my-player")
        + PLAYER.replace("player", "get"),
        "cogment.yaml:4:11: actor_classes[0].name: actor class name 'my-player' must be a Python "
        "identifier that does not start with '_' and is not a keyword (it is used as an "
        "attribute name)\n"
        "cogment.yaml:7:11: actor_classes[1].name: actor class name 'get' is reserved (it would "
        "hide ActorClassList.get)",
    ),
    "generated name clashes": (
        "import:\n  proto: [rps.proto]\nactor_classes:\n"
        + PLAYER.replace("player", "player_one")
        + PLAYER.replace("player", "playerOne")
        + PLAYER.replace("player", "trial")
        + PLAYER.replace("player", "end"),
        "cogment.yaml:7:11: actor_classes[1].name: actor class 'playerOne' would generate the "
        "name 'PlayerOneSession', already used by actor class 'player_one'; rename it\n"
        "cogment.yaml:10:11: actor_classes[2].name: actor class 'trial' would generate the name "
        "'trial_parameters', already used by the generated module; rename it",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_text(tmp_path: Path, case: str) -> None:
    spec, expected = CASES[case]
    assert errors(tmp_path, spec) == expected


def test_legacy_keys_are_warnings(tmp_path: Path) -> None:
    (tmp_path / "rps.proto").write_text(RPS_PROTO)
    (tmp_path / "cogment.yaml").write_text(
        "import:\n  proto: [rps.proto]\n  javascript: [x.js]\ncommands:\n  build: make\n"
        "trial_params:\n  max_steps: 3\ntrial:\n  pre_hooks: [x]\n"
    )
    generated = generate_files(tmp_path / "cogment.yaml", spec_display_name="cogment.yaml")
    assert [str(w) for w in generated.warnings] == [
        "cogment.yaml:4:1: commands: ignored: legacy 'cogment run' commands are not used by "
        "Cogment 2.x",
        "cogment.yaml:6:1: trial_params: ignored: in Cogment 2.x default trial parameters live "
        "in the orchestrator's parameters file",
        "cogment.yaml:9:3: trial.pre_hooks: ignored: in Cogment 2.x pre-trial hooks are given to "
        "the orchestrator (--pre_trial_hooks)",
    ]


def test_cli_prints_each_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cogment.yaml").write_text("import:\n  proto: [missing.proto]\n  python: [x]\n")
    code = cli_main(["--spec", str(tmp_path / "cogment.yaml"), "--output", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: {tmp_path / 'cogment.yaml'}:3:11: import.python: importing Python modules from "
        "the spec is not supported in Cogment 2.x; remove 'import.python' (or leave it empty)"
    ]
    assert not (tmp_path / "cog_settings").exists()


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        generate_files(tmp_path / "nope.yaml", spec_display_name="nope.yaml")
    assert str(caught.value) == (
        f"nope.yaml:1:1: (file): spec file not found: {tmp_path / 'nope.yaml'}"
    )
