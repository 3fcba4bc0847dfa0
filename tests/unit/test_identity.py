"""Bearer tokens: what a service believes of a token, and what it refuses."""

import base64
import json
import stat
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from runtime.identity import (
    OFFICE_ISSUER,
    REGISTRATION_ISSUER,
    InvalidToken,
    TokenIssuer,
    Trust,
)
from runtime.identity.development import development_trust
from runtime.identity.tokens import new_signing_key, trust_entry
from runtime.secrets import development_secret

NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)
office = TokenIssuer(OFFICE_ISSUER, new_signing_key())
registration = TokenIssuer(REGISTRATION_ISSUER, new_signing_key())
trust = Trust.from_document(
    {
        "issuers": [
            trust_entry(OFFICE_ISSUER, ["staff", "company"], [office.jwk]),
            trust_entry(REGISTRATION_ISSUER, ["applicant"], [registration.jwk]),
        ]
    }
)


def test_a_staff_token_names_the_person_and_the_role_their_commands_record():
    issued = office.issue("staff", "alice", 8 * HOUR, role="screener")
    who = trust.identify(issued.token)
    assert (who.kind, who.subject, who.role, who.token_id) == (
        "staff",
        "alice",
        "screener",
        issued.token_id,
    )
    assert who.actor == {"kind": "staff", "id": "alice", "role": "screener"}


def test_a_company_user_acts_for_their_company_and_an_applicant_for_themself():
    company = uuid.uuid4()
    user = trust.identify(office.issue("company", "bob", HOUR, company_id=company).token)
    assert user.actor == {"kind": "company", "id": "bob", "company_id": str(company)}
    applicant = uuid.uuid4()
    assert trust.identify(registration.issue("applicant", str(applicant), HOUR).token).actor == {
        "kind": "applicant",
        "id": str(applicant),
    }


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            office.issue("staff", "a", HOUR, role="admin", now=NOW - 3 * HOUR).token, id="expired"
        ),
        pytest.param(
            TokenIssuer(OFFICE_ISSUER, new_signing_key())
            .issue("staff", "a", HOUR, role="admin")
            .token,
            id="unknown key",
        ),
        pytest.param(
            TokenIssuer(OFFICE_ISSUER, office._key, audience="elsewhere")
            .issue("staff", "a", HOUR, role="admin")
            .token,
            id="another audience",
        ),
        pytest.param(
            registration.issue("staff", "a", HOUR, role="admin").token,
            id="staff vouched for by registration's key",
        ),
        pytest.param(
            office.issue("applicant", str(uuid.uuid4()), HOUR).token,
            id="applicant vouched for by the office's key",
        ),
        pytest.param(
            office.issue("staff", "a", timedelta(days=365), role="admin").token,
            id="valid for longer than the longest lifetime",
        ),
        pytest.param("not.a.token", id="malformed"),
        pytest.param("", id="empty"),
    ],
)
def test_a_token_that_proves_nothing_is_refused(token):
    with pytest.raises(InvalidToken):
        trust.identify(token)


def test_a_token_changed_after_signing_is_refused():
    header, payload, signature = office.issue("staff", "eve", HOUR, role="auditor").token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        trust.identify(f"{header}.{forged}.{signature}")


def test_an_unsigned_token_is_refused_even_with_a_known_key_id():
    unsigned = jwt.encode(
        {"iss": OFFICE_ISSUER, "aud": "jip", "sub": "eve", "kind": "staff", "role": "admin"},
        key=None,
        algorithm="none",
        headers={"kid": office.jwk["kid"]},
    )
    with pytest.raises(InvalidToken):
        trust.identify(unsigned)


def test_an_external_provider_replaces_the_office_issuer_by_the_trust_document_alone():
    # given a provider that names its own claims and issues only staff
    provider = new_signing_key()
    jwk = TokenIssuer("https://login.example", provider).jwk
    external = Trust.from_document(
        {
            "issuers": [
                {
                    "issuer": "https://login.example",
                    "kinds": ["staff"],
                    "jwks": {"keys": [jwk]},
                    "claims": {"role": "jip_role"},
                }
            ]
        }
    )
    claims = {
        "iss": "https://login.example",
        "aud": "jip",
        "sub": "carol@office.example",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + HOUR).timestamp()),
        "jti": "abc",
        "jip_role": "matcher",
    }
    token = jwt.encode(claims, provider, algorithm="EdDSA", headers={"kid": jwk["kid"]})
    # then its tokens make the same identities
    assert external.identify(token).actor == {
        "kind": "staff",
        "id": "carol@office.example",
        "role": "matcher",
    }


def test_development_secrets_are_made_once_and_readable_by_their_owner_only(tmp_path):
    first = development_secret("a-secret", lambda: uuid.uuid4().hex.encode(), tmp_path)
    again = development_secret("a-secret", lambda: uuid.uuid4().hex.encode(), tmp_path)
    assert first == again
    assert stat.S_IMODE((tmp_path / "a-secret").stat().st_mode) == 0o600
    # and the development trust document holds public keys only
    document = json.dumps(development_trust(tmp_path))
    assert '"d"' not in document and "PRIVATE" not in document
