import uuid

import pytest

from kernel.rules import RuleViolation
from services.registration.application.tokens import TokenSigner

signer = TokenSigner(b"a-test-secret-of-enough-length")


def test_a_token_names_its_applicant_and_serial():
    applicant = uuid.uuid4()
    claims = signer.verify("registration-link", signer.sign("registration-link", applicant, 3))
    assert (claims.applicant_id, claims.serial) == (applicant, 3)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.replace(".1.", ".2."),
        lambda t: str(uuid.uuid4()) + t[36:],
        lambda t: "garbage",
    ],
)
def test_a_tampered_or_forged_token_is_refused(tamper):
    token = signer.sign("registration-link", uuid.uuid4(), 1)
    with pytest.raises(RuleViolation) as refused:
        signer.verify("registration-link", tamper(token))
    assert refused.value.field == "token"


def test_another_secret_does_not_verify():
    token = signer.sign("registration-link", uuid.uuid4(), 1)
    with pytest.raises(RuleViolation):
        TokenSigner(b"another-secret-of-enough-length").verify("registration-link", token)
