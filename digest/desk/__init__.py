"""The staff desk: a small signed-in web app where clinic staff review the coming week's
candidates before they go out, plus the public subscribe / confirm / unsubscribe pages.

What other parts of digest call (none of them needs the web app running):
- `digest.desk.triage.desk_decisions(session, week)` and `week_approval(...)`;
- `digest.desk.triage.feedback_boosts(...)` / `feedback_rank_key(...)`: decisions feed
  the next week's order (a documented, visible rule);
- `digest.desk.subscribe.subscriber_preferences(session)`, `wants(preferences, study)`,
  `is_suppressed(session, email)`, `active_emails(session)`.
"""
