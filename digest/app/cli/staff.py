"""Handlers of `digest staff`, `digest desk` and `digest bounces`: the staff desk."""

from __future__ import annotations

import getpass
import os
import sys
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from sqlmodel import Session

from digest.app.cli.context import Context
from digest.app.cli.exits import EXIT_OK, UsageError
from digest.desk.auth import StaffError, add_staff, list_staff, remove_staff
from digest.desk.bounces import read_bounces
from digest.desk.subscribe import suppress
from digest.publish.mail.settings import mail_settings_from_config
from digest.publish.mail.smtp import SmtpTransport, smtp_config_from_env
from digest.publish.tokens import load_secret


def _read_password(ctx: Context) -> str:
    if ctx.args.password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("password: ")
    second = getpass.getpass("again: ")
    if first != second:
        raise UsageError("the two passwords differ")
    return first


def cmd_staff(ctx: Context) -> int:
    args = ctx.args
    with Session(ctx.engine()) as session:
        if args.action == "list":
            for row in list_staff(session, include_removed=args.all):
                state = "removed" if row.disabled_at else "active"
                since = row.created_at.strftime("%Y-%m-%d")
                email = f"\t{row.email}" if row.email else ""
                print(f"{row.username}\t{state}\tsince {since}{email}", file=ctx.out)
            return EXIT_OK
        if not args.username:
            raise UsageError(f"digest staff {args.action} USERNAME")
        try:
            if args.action == "add":
                outcome = add_staff(
                    session, args.username, _read_password(ctx), email=getattr(args, "email", None)
                )
            else:
                outcome = "removed" if remove_staff(session, args.username) else "not found"
        except StaffError as exc:
            raise UsageError(str(exc)) from exc
        session.commit()
    print(f"{args.username.strip().lower()}: {outcome}", file=ctx.out)
    return EXIT_OK


def cmd_bounces(ctx: Context) -> int:
    report = read_bounces(ctx.args.path, os.environ)
    suppressed = 0
    with Session(ctx.engine()) as session:
        for bounce in report.found:
            if suppress(session, bounce.email, bounce.kind, bounce.detail):
                suppressed += 1
                print(f"{bounce.email}\t{bounce.kind}\t{bounce.detail}", file=ctx.out)
        session.commit()
    print(
        f"{report.messages} message(s) read: {len(report.found)} hard bounce(s) or "
        f"complaint(s), {suppressed} newly suppressed, {report.ignored} ignored",
        file=ctx.out,
    )
    return EXIT_OK


def cmd_desk(ctx: Context) -> int:
    import uvicorn  # deferred: only the desk needs the ASGI server

    from digest.desk.app import DeskConfig, create_app

    args, settings = ctx.args, ctx.settings
    secret = load_secret(os.environ)
    public_url = args.public_url or settings.digest.site_url
    send_mail = None
    if os.environ.get("DIGEST_SMTP_URL"):
        smtp = smtp_config_from_env(os.environ)

        def send_mail(message: EmailMessage) -> None:
            with SmtpTransport(smtp, retries=2) as transport:
                transport.send(message)
    else:
        print(
            "DIGEST_SMTP_URL is not set: the subscribe form is shown but cannot send "
            "confirmation mail",
            file=ctx.err,
        )
    list_id, unsubscribe_path = None, "/unsubscribe"
    if settings.email.unsubscribe_url:
        mail = mail_settings_from_config(settings, os.environ)
        list_id = mail.list_id
        unsubscribe_path = urlsplit(mail.unsubscribe_url).path or "/unsubscribe"
    config = DeskConfig(
        settings=settings,
        engine=ctx.engine(),
        secret=secret,
        public_url=public_url,
        site_url=settings.digest.site_url,
        from_address=settings.email.from_address,
        send_mail=send_mail,
        unsubscribe_path=unsubscribe_path,
        list_id=list_id,
        postal_address=args.postal_address or settings.email.postal_address,
        max_labels=args.labels_per_week,
        session_max_age=timedelta(hours=args.session_hours),
    )
    print(f"staff desk on http://{args.host}:{args.port}/desk/", file=ctx.err, flush=True)
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        proxy_headers=bool(args.forwarded_allow_ips),
        forwarded_allow_ips=args.forwarded_allow_ips or None,
        server_header=False,
        access_log=False,  # request lines may carry unsubscribe and confirm tokens
    )
    return EXIT_OK
