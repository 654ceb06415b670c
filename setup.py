"""The compiled part of the package (text sketches for deduplication); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("pipeline.dedup._sketch", ["pipeline/dedup/_sketch.c"], extra_compile_args=["-O3"])])
