"""The compiled parts of the package (text sketches for deduplication, the text cleaner's per-line
work); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("pipeline.dedup._sketch", ["pipeline/dedup/_sketch.c"], extra_compile_args=["-O3"]),
        Extension("pipeline.clean._lines", ["pipeline/clean/_lines.c"], extra_compile_args=["-O3"]),
    ]
)
