"""The office's admin command issues tokens the services accept, and revokes them."""

import json
import os
import subprocess
import sys

import httpx
import pytest
from fastapi import APIRouter

from infra import InfraSettings
from runtime.http import Staff, build_app
from runtime.identity import Gate, RevocationList, Trust
from runtime.identity.tokens import private_key_pem
from tests.support import IDENTITY, STAFF_TOKEN, database_of


def admin_command(infra: InfraSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JIP_IDENTITY_SIGNING_KEY": private_key_pem(IDENTITY.office_key),
        "JIP_IDENTITY_REVOCATIONS_DSN": infra.postgres_dsn(database_of("identity")),
    }
    return subprocess.run(
        [sys.executable, "-m", "runtime.identity", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_admin_command_issues_a_staff_token_and_revokes_every_token_of_a_person(
    infra: InfraSettings,
) -> None:
    # when the office issues a screener's token to alice
    issued = admin_command(
        infra, "issue", "--kind", "staff", "--id", "alice-cli", "--role", "screener", "--hours", "1"
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()

    # then every service believes it: alice, acting as a screener
    who = Trust.from_document(json.loads(IDENTITY.trust)).identify(token)
    assert who.actor == {"kind": "staff", "id": "alice-cli", "role": "screener"}
    assert who.token_id in issued.stderr

    # when the office revokes every token of hers
    revoked = admin_command(infra, "revoke", "--subject", "alice-cli", "--reason", "left")
    assert revoked.returncode == 0, revoked.stderr
    assert f"{who.token_id}: revoked" in revoked.stdout

    # then the services' revocation list names it
    revocations = RevocationList(infra.postgres_dsn(database_of("identity")))
    assert await revocations.is_revoked(who.token_id)


@pytest.mark.parametrize(
    "args",
    [
        ("--kind", "staff", "--id", "x", "--role", "superuser"),
        ("--kind", "staff", "--id", "x"),
        ("--kind", "company", "--id", "x", "--role", "admin"),
        ("--kind", "staff", "--id", "x", "--role", "admin", "--hours", "100000"),
    ],
)
def test_the_admin_command_refuses_a_token_it_should_not_make(infra, args) -> None:
    refused = admin_command(infra, "issue", *args)
    assert refused.returncode != 0 and not refused.stdout.strip()


async def test_a_service_that_cannot_read_the_revocation_list_refuses_tokens() -> None:
    # given a service whose revocation store is unreachable
    gate = Gate(
        Trust.from_document(json.loads(IDENTITY.trust)),
        RevocationList("postgresql://jip:jip@127.0.0.1:1/jip_identity", stale_after=0),
    )
    api = build_app(title="t", description="t", routers=[router], gate=gate)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://t"
    ) as http:
        # when a member of staff calls it with a valid token
        answer = await http.get("/staff", headers={"Authorization": f"Bearer {STAFF_TOKEN}"})
    # then it says it cannot check credentials now, rather than trusting the token
    assert answer.status_code == 503
    assert answer.json()["errors"][0]["field"] == "authorization"


router = APIRouter()


@router.get("/staff")
async def staff_only(who: Staff) -> dict[str, str]:
    return dict(who)
