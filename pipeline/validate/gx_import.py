"""Importing this module imports Great Expectations with its analytics off (a few seconds, so a
run can do it on a thread while other work goes on)."""

from pipeline.validate.suite import _import_gx

gx = _import_gx()
