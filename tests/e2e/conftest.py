"""The ``service`` fixture (a real newsingest service per test module) for every e2e test: see
tests/e2e/service.py."""

from tests.e2e.service import service  # noqa: F401
