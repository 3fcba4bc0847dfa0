"""A real SMTP server that stores every message it receives in a Maildir.

It is aiosmtpd's own command line run as a separate, detached process::

    python -m aiosmtpd -n -u -d -l 127.0.0.1:8025 -c aiosmtpd.handlers.Mailbox var/mail

``-c`` names the handler class; the positional argument after the options is handed to
``Mailbox.from_cli`` as the Maildir path. ``-n`` skips aiosmtpd's default setuid to
``nobody`` (which, as root, would also make var/mail unwritable), ``-u`` enables SMTPUTF8,
``-d`` logs each session to var/log/smtp.log.

The stored messages carry three extra headers added by aiosmtpd's ``Message`` handler:
``X-Peer``, ``X-MailFrom`` and ``X-RcptTo`` (the *envelope* recipients, so Bcc recipients are
visible there). Tests read them back with :func:`read_messages`.

Public API: :func:`start`, :func:`stop`, :func:`status`, :func:`is_healthy`,
:func:`read_messages`, :func:`clear_messages`.
"""

from __future__ import annotations

import email.policy
import mailbox
import smtplib
import sys
import time
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from infra._process import (
    InfraError,
    StartResult,
    Status,
    format_tails,
    pid_is_alive,
    port_is_open,
    read_pid,
    spawn_detached,
    terminate,
)
from infra.settings import REPO_ROOT, InfraSettings

STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


def is_healthy(settings: InfraSettings, *, timeout: float = 2.0) -> bool:
    """True if an SMTP server answers EHLO and NOOP on the configured port."""
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as client:
            code, _ = client.ehlo("jip-infra-probe")
            if code != 250:
                return False
            code, _ = client.noop()
            return code == 250
    except (OSError, smtplib.SMTPException):
        return False


def ensure_maildir(mail_dir: Path) -> None:
    """Create the Maildir's ``tmp``, ``new`` and ``cur`` subdirectories.

    Surprise: ``mailbox.Maildir(path, create=True)`` -- what aiosmtpd's Mailbox handler
    uses -- creates the three subdirectories only when ``path`` itself does not exist yet.
    If the directory exists but is empty (e.g. someone ran ``mkdir -p var/mail``), every
    delivery fails with "No such file or directory: .../tmp/...".
    """
    for sub in ("tmp", "new", "cur"):
        (mail_dir / sub).mkdir(parents=True, exist_ok=True)


def _argv(settings: InfraSettings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-u",
        "-d",
        "-l",
        f"{settings.smtp_host}:{settings.smtp_port}",
        "-c",
        "aiosmtpd.handlers.Mailbox",
        str(settings.mail_dir),
    ]


def _marker(settings: InfraSettings) -> str:
    return f"aiosmtpd -n -u -d -l {settings.smtp_host}:{settings.smtp_port}"


def start(settings: InfraSettings) -> StartResult:
    """Start the SMTP server unless one already answers; return once it answers EHLO.

    Raises :class:`InfraError` if the port is held by something that is not an SMTP
    server, or if the server dies or does not answer within 15 s (with its log tail).
    """
    address = f"{settings.smtp_host}:{settings.smtp_port}"
    pid = read_pid(settings.smtp_pid_file, _marker(settings))
    if is_healthy(settings):
        detail = f"already running on {address}"
        if pid is None:
            detail += " (not started by infra: no pid file, `down` will leave it alone)"
        return StartResult("smtp", True, pid, detail)
    if pid is None:
        if port_is_open(settings.smtp_host, settings.smtp_port):
            raise InfraError(
                f"port {settings.smtp_port} is taken by a process that is not an SMTP server "
                f"(`ss -ltnp 'sport = :{settings.smtp_port}'` shows which); stop it or set "
                "JIP_SMTP_PORT."
            )
        ensure_maildir(settings.mail_dir)
        proc = spawn_detached(
            _argv(settings),
            log_file=settings.smtp_log_file,
            pid_file=settings.smtp_pid_file,
            cwd=REPO_ROOT,
        )
        pid = proc.pid
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not is_healthy(settings):
        if not pid_is_alive(pid):
            settings.smtp_pid_file.unlink(missing_ok=True)
            raise InfraError(
                f"The SMTP server (pid {pid}) exited while starting."
                + format_tails(settings.smtp_log_file)
            )
        if time.monotonic() > deadline:
            terminate(pid, timeout=STOP_TIMEOUT_S)
            settings.smtp_pid_file.unlink(missing_ok=True)
            raise InfraError(
                f"The SMTP server (pid {pid}) did not answer EHLO on {address} within "
                f"{STARTUP_TIMEOUT_S:.0f} s; it was stopped." + format_tails(settings.smtp_log_file)
            )
        time.sleep(0.1)
    return StartResult("smtp", False, pid, f"started on {address}, mail in {settings.mail_dir}")


def stop(settings: InfraSettings) -> str:
    """Stop the SMTP server started by infra (SIGTERM, then SIGKILL after 10 s)."""
    pid = read_pid(settings.smtp_pid_file, _marker(settings))
    if pid is None:
        if port_is_open(settings.smtp_host, settings.smtp_port):
            return (
                f"not stopped: port {settings.smtp_port} is served by a process "
                "that infra did not start"
            )
        return "not running"
    killed = terminate(pid, timeout=STOP_TIMEOUT_S)
    settings.smtp_pid_file.unlink(missing_ok=True)
    return f"stopped pid {pid}" + (" (SIGKILL)" if killed else "")


def status(settings: InfraSettings) -> Status:
    """Whether the server answers, its pid and how many messages the Maildir holds."""
    address = f"{settings.smtp_host}:{settings.smtp_port}"
    pid = read_pid(settings.smtp_pid_file, _marker(settings))
    if not is_healthy(settings):
        if pid is not None:
            return Status("smtp", False, address, pid, "not answering")
        taken = port_is_open(settings.smtp_host, settings.smtp_port)
        return Status(
            "smtp", False, address, None, "port taken by another process" if taken else "stopped"
        )
    count = len(_keys(settings.mail_dir))
    detail = f"{count} message{'' if count == 1 else 's'} in {settings.mail_dir}"
    if pid is None:
        detail += "; not started by infra"
    return Status("smtp", True, address, pid, detail)


def _keys(mail_dir: Path) -> list[str]:
    if not (mail_dir / "new").is_dir():
        return []
    return list(mailbox.Maildir(mail_dir, create=False).keys())


def read_messages(mail_dir: Path) -> list[EmailMessage]:
    """Every message in the Maildir, oldest first, parsed with ``email.policy.default``.

    An absent or empty Maildir gives ``[]``. The messages stay in the Maildir (use
    :func:`clear_messages` to empty it between tests).
    """
    if not (mail_dir / "new").is_dir():
        return []
    box = mailbox.Maildir(mail_dir, factory=None, create=False)
    parser = BytesParser(policy=email.policy.default)
    found: list[tuple[float, str, EmailMessage]] = []
    for key in list(box.keys()):
        try:
            raw = box.get_bytes(key)
            delivered = box.get_message(key).get_date()
        except KeyError:  # removed by clear_messages() meanwhile
            continue
        message = parser.parsebytes(raw)
        assert isinstance(message, EmailMessage)  # guaranteed by policy=default
        found.append((delivered, key, message))
    # Maildir keys are unique but unordered; delivery time (file mtime) orders them,
    # the key (which starts with the delivery second) breaks ties.
    found.sort(key=lambda item: (item[0], item[1]))
    return [message for _, _, message in found]


def clear_messages(mail_dir: Path) -> int:
    """Delete every message in the Maildir; return how many were deleted."""
    if not (mail_dir / "new").is_dir():
        return 0
    box = mailbox.Maildir(mail_dir, create=False)
    count = 0
    for key in list(box.keys()):
        try:
            box.remove(key)
            count += 1
        except KeyError:
            continue
    return count
