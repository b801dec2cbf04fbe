"""Composing the digest email and delivering it over SMTP, once per subscriber.

- `compose.compose_digest_message`: multipart/alternative (text, then inlined-CSS HTML) with
  Date, a deterministic Message-ID (same week + subscriber = same id, so a resend after
  a crash is recognisably the same message), List-Id, and RFC 8058 `List-Unsubscribe`
  (https + mailto, per-subscriber signed token) with `List-Unsubscribe-Post`.
- `smtp.SmtpTransport`: smtplib over STARTTLS (smtp+starttls:// or port 587), SMTPS
  (smtps://) or plain SMTP (smtp://, loopback or unauthenticated relays only); retries
  with exponential backoff on 4xx replies and dropped connections. The password comes
  from DIGEST_SMTP_PASSWORD and is never logged or shown in a repr.
- `send.send_digest`: walks the active subscribers through the delivery ledger
  (digest.store.deliveries): claim, send, mark sent, each committed on its own.
- `send.write_dry_run`: one .eml per subscriber that would be sent, ledger untouched.

DKIM signing is not done here: RFC 8058 requires the List-Unsubscribe headers to be
covered by a DKIM signature, which the relaying MTA (or a milter) must add.

Settings, the unsubscribe link and the Message-ID are in `settings`.
"""
