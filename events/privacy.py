"""How personal data travels in the contract: sealed with its data subject's key.

Every personal value of an event (a name, an e-mail address, a date of birth, text a
person wrote, a document's file name) is published as a *sealed* string, never in
clear:

    sealed:v1:<subject id>:<base64url, unpadded, of nonce (12 bytes) || ciphertext+tag>

- the subject id is the data subject's uuid: an applicant's id, or an inquiry's id for
  the person who sent it;
- the ciphertext is AES-256-GCM of the UTF-8 JSON of the value (a date is its
  `YYYY-MM-DD` string, an object its JSON object), with the key of that subject and the
  associated data `sealed:v1:<subject id>` (so a sealed value cannot be passed off as
  another subject's);
- the keys live in the program's key store, outside the log. A subscriber that needs a
  value opens it through the key store at the moment of use and keeps only the sealed
  text.

When a data subject is erased, their key is destroyed: every copy of every sealed value
of theirs (on every topic, in every store, in every rebuilt read model) can no longer be
opened, and reads as `ERASED`. The events themselves, with their non-personal facts and
their hash chain (computed over the sealed text), stay as they are.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

SEALED_PREFIX = "sealed:v1:"

#: What a reader shows for a personal value whose subject was erased (its key destroyed).
ERASED = "[erased]"

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: nonce (12) + tag (16) + at least 1 byte of JSON = 29 bytes = 39 base64url characters.
SEALED_PATTERN = rf"^sealed:v1:({_UUID}):([A-Za-z0-9_-]{{39,}})$"
_SEALED = re.compile(SEALED_PATTERN)

#: A personal value, sealed with its subject's key (see the module's docstring).
Sealed = Annotated[
    str,
    StringConstraints(pattern=SEALED_PATTERN, max_length=16_384),
    Field(
        description="A personal value sealed with its data subject's key: "
        "`sealed:v1:<subject id>:<base64url(nonce || AES-256-GCM ciphertext)>` of the "
        "value's JSON. Reads as `[erased]` once the subject is erased. See "
        "events/privacy.py.",
        json_schema_extra={"x-personal-data": True},
    ),
]


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and _SEALED.match(value) is not None


def sealed_parts(value: str) -> tuple[uuid.UUID, str]:
    """(subject id, base64url body) of a sealed value; ValueError if it is not one."""
    match = _SEALED.match(value)
    if match is None:
        raise ValueError("not a sealed value")
    return uuid.UUID(match.group(1)), match.group(2)


def aad_of(subject_id: uuid.UUID) -> bytes:
    """The associated data of a subject's sealed values."""
    return f"{SEALED_PREFIX}{subject_id}".encode()
