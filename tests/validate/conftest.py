"""Fixtures of the validation tests."""

import socket

import pytest


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
