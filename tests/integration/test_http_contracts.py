"""Every service's HTTP API, fuzzed from its own OpenAPI document with schemathesis:
whatever a client sends, the answer is never a server error, its status code is one
the document promises, and its body matches the documented schema (for errors: the
field and the reason). Deterministic generation, so a failure reproduces."""

import asyncio
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import InfraSettings
from infra.services import SERVICES
from tests.support import STAFF_TOKEN, running, service_env

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,"
CHECKS += "response_schema_conformance"


@pytest.mark.parametrize("service", SERVICES)
async def test_no_request_gets_an_undocumented_answer(service, infra: InfraSettings, tmp_path):
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings_class = getattr(settings_module, f"{service.capitalize()}Settings")
    bootstrap = importlib.import_module(f"services.{service}.bootstrap").bootstrap
    with pytest.MonkeyPatch.context() as env:
        for name, value in service_env(service, infra).items():
            env.setenv(name, value)
        env.setenv("JIP_REGISTRATION_DOCUMENTS_DIR", str(tmp_path / "documents"))
        settings = settings_class()

    schemathesis = shutil.which("st", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is installed with the dev extra"
    async with running(await bootstrap(settings)) as base_url:
        result = await asyncio.to_thread(
            subprocess.run,
            [
                schemathesis,
                "run",
                f"{base_url}/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "25",
                "--generation-deterministic",
                "--header",
                f"Authorization: Bearer {STAFF_TOKEN}",
                "--request-timeout",
                "30",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,  # schemathesis may write a cassette or report here
        )
    assert result.returncode == 0, result.stdout[-6000:]
