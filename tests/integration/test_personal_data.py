"""Personal data sealed with its subject's key, in the real key store: what a service
and an auditor can rely on when a subject is erased."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from events.privacy import ERASED, is_sealed, sealed_parts
from infra import InfraSettings
from runtime.privacy import PersonalData, SealBroken, SubjectErased
from tests.support import personal_data


@pytest.fixture
def vault(infra: InfraSettings) -> Iterator[PersonalData]:
    data = personal_data(infra)
    yield data
    data.close()


def test_a_sealed_value_opens_with_its_subjects_key_and_hides_the_value(
    vault: PersonalData,
) -> None:
    subject = uuid.uuid4()
    sealed = vault.seal(subject, {"given_name": "Mai", "born": "2001-04-02"})
    assert is_sealed(sealed)
    assert sealed_parts(sealed)[0] == subject
    assert "Mai" not in sealed and "2001" not in sealed
    assert vault.unseal(sealed) == {"given_name": "Mai", "born": "2001-04-02"}
    # The same value sealed twice differs (a fresh nonce each time).
    assert vault.seal(subject, "Mai") != vault.seal(subject, "Mai")


def test_erasing_a_subject_makes_every_copy_read_as_erased_and_only_theirs(
    vault: PersonalData, infra: InfraSettings
) -> None:
    erased, kept = uuid.uuid4(), uuid.uuid4()
    record = {
        "email": vault.seal(erased, "mai@example.org"),
        "nested": [{"name": vault.seal(erased, "Mai")}, {"name": vault.seal(kept, "Ken")}],
        "cohort": "FY2025",
    }
    assert vault.reveal(record)["nested"][0]["name"] == "Mai"

    assert vault.erase(erased) is True
    # Another process's client (a consumer elsewhere) sees it at once: no cached keys.
    other = personal_data(infra)
    try:
        assert other.reveal(record) == {
            "email": ERASED,
            "nested": [{"name": ERASED}, {"name": "Ken"}],
            "cohort": "FY2025",
        }
    finally:
        other.close()
    assert vault.is_erased(erased) and not vault.is_erased(kept)
    # Erasing again is harmless; sealing anew for an erased subject is refused, so
    # nothing personal of theirs can become readable again.
    assert vault.erase(erased) is False
    with pytest.raises(SubjectErased):
        vault.seal(erased, "mai@example.org")


def test_an_altered_sealed_value_is_refused_not_read(vault: PersonalData) -> None:
    subject = uuid.uuid4()
    sealed = vault.seal(subject, "Mai")
    body = sealed.rsplit(":", 1)[1]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(SealBroken):
        vault.unseal(sealed.rsplit(":", 1)[0] + ":" + flipped)
    # Nor can one subject's sealed value be passed off as another's.
    other = uuid.uuid4()
    vault.seal(other, "x")
    with pytest.raises(SealBroken):
        vault.unseal(sealed.replace(str(subject), str(other)))


def test_concurrent_first_sealings_share_one_key(vault: PersonalData) -> None:
    subject = uuid.uuid4()
    sealed: list[str] = []

    def seal() -> None:
        sealed.append(vault.seal(subject, "same person"))

    threads = [threading.Thread(target=seal) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [vault.unseal(s) for s in sealed] == ["same person"] * 6


def test_the_key_store_keeps_keys_wrapped_and_closed_to_the_services_role(
    vault: PersonalData, infra: InfraSettings
) -> None:
    subject = uuid.uuid4()
    vault.seal(subject, "x")
    key = vault.keystore.key_of(subject)
    assert key is not None
    with psycopg.connect(infra.keystore_dsn()) as conn:
        row = conn.execute(
            "SELECT wrapped_key FROM subject_keys WHERE subject_id = %s", (subject,)
        ).fetchone()
    assert row is not None and key not in bytes(row[0])
    # The services' own role (the one their event stores use) cannot even connect.
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(infra.postgres_dsn(infra.keystore_database)).close()
