"""The compiled parts of the package (text sketches for deduplication, the text cleaner's per-line
work); everything else is in pyproject.toml."""

from setuptools import Extension, setup

SHARED = {"include_dirs": ["pipeline"], "depends": ["pipeline/mix64.h"], "extra_compile_args": ["-O3"]}

setup(
    ext_modules=[
        Extension("pipeline.dedup._sketch", ["pipeline/dedup/_sketch.c"], **SHARED),
        Extension("pipeline.clean._lines", ["pipeline/clean/_lines.c"], **SHARED),
    ]
)
