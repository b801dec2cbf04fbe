"""What the static site takes from the issues as sent (kept out of the site builder, so
the builder stays a pure function of its SiteView):

- each sent week's digest page shows the issue as sent (only the items that went, with
  the clinic's takes), not the candidates it was built from;
- each study page shows the clinic's take from the newest sent issue that carried one;
- `/sent/<key>/` is each issue's frozen "as sent" page, written from the stored bytes,
  and `/latest/` the newest weekly one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from digest.desk.tables import SentIssue
from digest.desk.takes import latest_takes
from digest.views import SiteView, digest_from_json


def with_sent_issues(site: SiteView, sent: Sequence[SentIssue]) -> SiteView:
    issues = {row.key: digest_from_json(row.content) for row in sent if row.kind == "weekly"}
    takes = latest_takes(issues.values())
    digests = tuple(issues.get(d.week, d) for d in site.digests)
    studies = tuple(
        dataclasses.replace(s, take=takes[s.slug]) if s.slug in takes else s for s in site.studies
    )
    conditions = tuple(
        dataclasses.replace(
            c,
            studies=tuple(
                dataclasses.replace(s, take=takes[s.slug]) if s.slug in takes else s
                for s in c.studies
            ),
        )
        for c in site.conditions
    )
    return dataclasses.replace(site, digests=digests, studies=studies, conditions=conditions)


def as_sent_files(sent: Sequence[SentIssue]) -> dict[str, bytes]:
    """{relative path: bytes}: the stored pages, exactly; `latest/` is the newest weekly."""
    files = {f"sent/{row.key}/index.html": row.page.encode("utf-8") for row in sent}
    weekly = sorted((row for row in sent if row.kind == "weekly"), key=lambda r: r.key)
    if weekly:
        files["latest/index.html"] = weekly[-1].page.encode("utf-8")
    return files
