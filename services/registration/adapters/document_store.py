"""Applicants' documents, kept on disk outside the event log (the log keeps checksums).

A file is streamed to a temporary name while its SHA-256 and size are computed, checked
against the limits, then renamed into place; a rejected upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from services.registration.domain.rules import RuleViolation

#: Accepted types, recognised by their first bytes rather than by what the client says.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


@dataclass(frozen=True)
class StoredDocument:
    document_id: uuid.UUID
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str

    def as_event_data(self) -> dict[str, object]:
        return {
            "document_id": self.document_id,
            "kind": self.kind,
            "filename": self.filename,
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
        }


def _content_type_of(head: bytes) -> str | None:
    for content_type, signatures in _SIGNATURES.items():
        if any(head.startswith(s) for s in signatures):
            return content_type
    return None


class DocumentStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, applicant_id: uuid.UUID, document_id: uuid.UUID) -> Path:
        return self.root / str(applicant_id) / str(document_id)

    def store(
        self, applicant_id: uuid.UUID, kind: str, filename: str, source: BinaryIO
    ) -> StoredDocument:
        folder = self.root / str(applicant_id)
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(1024 * 1024):
                    if len(head) < 16:
                        head += chunk[: 16 - len(head)]
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise RuleViolation(
                            kind, f"a document may be at most {self.max_bytes} bytes"
                        )
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise RuleViolation(kind, "the file is empty")
            content_type = _content_type_of(head)
            if content_type is None:
                raise RuleViolation(kind, "only PDF, PNG and JPEG files are accepted")
            sha256 = digest.hexdigest()
            # Same applicant, same content: same document id, so a retried upload
            # overwrites its own file instead of leaving a copy.
            document_id = uuid.uuid5(applicant_id, f"{kind}:{sha256}")
            os.replace(tmp_name, self.path_of(applicant_id, document_id))
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        safe_name = Path(filename or "document").name[:255] or "document"
        return StoredDocument(document_id, kind, safe_name, content_type, size, sha256)
