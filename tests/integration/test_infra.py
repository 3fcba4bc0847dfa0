"""What an operator meets when a part of the stack cannot start: a clear message
naming the cause, with the tail of the log that says more. Each test uses its own
ports and folders, away from the session's stack."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import InfraError, InfraSettings, kafka, smtp
from infra.stack import up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def squatter() -> Iterator[int]:
    """A port held by something that is not our server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def isolated(tmp_path: Path, **overrides) -> InfraSettings:
    values = dict(
        var_dir=tmp_path / "var",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        smtp_port=free_port(),
    )
    values.update(overrides)
    return InfraSettings(**values)


async def test_a_kafka_port_held_by_another_program_is_named(tmp_path, squatter):
    settings = isolated(tmp_path, kafka_port=squatter)
    with pytest.raises(InfraError, match=f"port {squatter} is taken"):
        await kafka.start(settings)


def test_an_smtp_port_held_by_another_program_is_named(tmp_path, squatter):
    settings = isolated(tmp_path, smtp_port=squatter)
    with pytest.raises(InfraError, match=f"port {squatter} is taken"):
        smtp.start(settings)


async def test_a_broker_that_dies_at_start_shows_the_tail_of_its_log(tmp_path):
    settings = isolated(tmp_path, kafka_heap="1k")  # the JVM refuses so small a heap
    with pytest.raises(InfraError) as failed:
        await kafka.start(settings)
    message = str(failed.value)
    assert "last lines of" in message
    assert "heap" in message.lower()


async def test_missing_maven_is_named_with_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    settings = isolated(tmp_path, kafka_libs_dir=tmp_path / "no-jars-yet")
    with pytest.raises(InfraError, match=r"bootstrap\.sh"):
        await kafka.start(settings)


async def test_up_on_a_running_stack_changes_nothing_and_says_so(infra):
    said: list[tuple[str, str]] = []
    await up(infra, databases=(), report=lambda part, message, _: said.append((part, message)))
    parts = dict(said)
    assert parts["kafka"].startswith("already running")
    assert parts["smtp"].startswith("already running")
    assert parts["postgres"].startswith("already running")
