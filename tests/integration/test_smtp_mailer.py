"""The runtime's SMTP client against a real server: it keeps its connection between
messages, and a connection the server closed while idle costs nothing but a new one."""

import asyncio

from runtime.mail import Accepted, SmtpMailer
from tests.smtp_servers import MisbehavingHandler, smtp_server

SENDER = "JIP Program Office <office@jip.example>"


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_losing_mail():
    server = MisbehavingHandler()
    # a server that closes a connection idle for more than 0.3 s
    with smtp_server(server, timeout=0.3) as port:
        mailer = SmtpMailer("127.0.0.1", port, SENDER)
        first = mailer.compose("an@example.org", "One", "Hello.\n", "<1@jip.example>")
        assert await mailer.deliver(first) == Accepted()

        await asyncio.sleep(1.0)  # longer than the server keeps an idle connection
        second = mailer.compose("an@example.org", "Two", "Hello again.\n", "<2@jip.example>")
        assert await mailer.deliver(second) == Accepted()
        await mailer.close()

    assert [str(m["Subject"]) for m in server.to("an@example.org")] == ["One", "Two"]
