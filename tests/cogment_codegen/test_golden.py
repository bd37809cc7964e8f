"""The generated files of every golden case match ``tests/golden/<case>/expected/`` exactly."""

from __future__ import annotations

import difflib

import pytest

from tests.cogment_codegen.golden import case_names, expected_files, golden_files

REQUIRED_CASES = {
    "nested_messages",
    "no_config_types",
    "rps",
    "several_classes",
    "several_packages",
    "single_class",
    "sub_folder_protos",
    "well_known_types",
}


def test_all_cases_present() -> None:
    assert set(case_names()) >= REQUIRED_CASES


@pytest.mark.parametrize("case", case_names())
def test_golden(case: str) -> None:
    generated = golden_files(case)
    expected = expected_files(case)
    hint = f"regenerate with: python -m tests.cogment_codegen.regenerate_golden {case}"
    missing = sorted(set(generated) - set(expected))
    extra = sorted(set(expected) - set(generated))
    assert not missing and not extra, f"files differ: new {missing}, gone {extra}; {hint}"
    for path in sorted(generated):
        if generated[path] != expected[path]:
            diff = difflib.unified_diff(
                expected[path].decode().splitlines(),
                generated[path].decode().splitlines(),
                f"expected/{path}",
                f"generated/{path}",
                lineterm="",
            )
            pytest.fail(f"{path} differs ({hint}):\n" + "\n".join(list(diff)[:60]))
