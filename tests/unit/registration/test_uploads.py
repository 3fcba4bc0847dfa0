"""An uploaded document is encrypted only once read whole: until then it must not sit on
disk in clear (Starlette spools a part above 1 MiB to a temporary file)."""

import uuid

from starlette.formparsers import MultiPartParser
from starlette.requests import Request

from services.registration.adapters.document_store import DocumentStore
from services.registration.adapters.http_api.documents import keep_uploads_in_memory

PDF = b"%PDF-1.4\n"


async def parsed_upload(body: bytes, boundary: str):
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "headers": [
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    form = await Request(scope, receive).form(max_part_size=64 * 1024 * 1024)
    return form["resume"]


async def test_a_document_of_the_largest_accepted_size_stays_in_memory(monkeypatch, tmp_path):
    # Restored after the test: the setting is Starlette's, process-wide.
    monkeypatch.setattr(MultiPartParser, "spool_max_size", MultiPartParser.spool_max_size)
    store = DocumentStore(tmp_path, max_bytes=10 * 1024 * 1024, personal_data=None)  # type: ignore[arg-type]
    keep_uploads_in_memory(store)

    boundary = uuid.uuid4().hex
    content = PDF + b"x" * (10 * 1024 * 1024 - len(PDF))
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="resume"; filename="cv.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    upload = await parsed_upload(body, boundary)
    try:
        # SpooledTemporaryFile writes to a real file once it "rolls over".
        assert upload.file._rolled is False, "the document was spooled to disk in clear"
        assert await upload.read() == content
    finally:
        await upload.close()
