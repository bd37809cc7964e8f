"""The typed Cogment code generator: ``cogment.yaml`` in, a typed ``cog_settings`` package out.

``generate(spec, output)`` does what ``cogment generate --spec ... --output ...`` does;
``generate_files`` renders everything in memory; ``load_spec`` only validates the spec.
Problems are raised as ``SpecError`` (one ``file:line:column: key.path: message`` per problem).
"""

from cogment_codegen._errors import Location, Problem, SpecError
from cogment_codegen._generate import (
    GeneratedFiles,
    GenerationResult,
    Layout,
    generate,
    generate_files,
)
from cogment_codegen._output import OutputChanges
from cogment_codegen._spec import LoadedSpec, load_spec

__all__ = [
    "GeneratedFiles",
    "GenerationResult",
    "Layout",
    "LoadedSpec",
    "Location",
    "OutputChanges",
    "Problem",
    "SpecError",
    "generate",
    "generate_files",
    "load_spec",
]
