"""The HTTP server keeps an idle connection open longer than its clients do, so that it
never closes one just as a client reuses it (the client would get no answer at all)."""

from fastapi import FastAPI

from runtime.kafka import make_broker
from runtime.process import ServiceProcess
from services.registration.settings import RegistrationSettings

#: The longest idle timeout of common clients and load balancers (AWS ALB: 60 s).
CLIENTS_IDLE_SECONDS = 60


def test_by_default_the_server_outlasts_its_clients_idle_connections():
    settings = RegistrationSettings()
    assert settings.http_keep_alive_seconds > CLIENTS_IDLE_SECONDS


def test_the_operator_sets_how_long_an_idle_connection_stays_open(monkeypatch):
    monkeypatch.setenv("JIP_REGISTRATION_HTTP_KEEP_ALIVE_SECONDS", "120")
    settings = RegistrationSettings()
    process = ServiceProcess(
        name="registration",
        broker=make_broker("127.0.0.1:9", service="registration"),
        http=FastAPI(),
        http_keep_alive_seconds=settings.http_keep_alive_seconds,
    )
    assert process.http_config().timeout_keep_alive == 120
