"""Atom feeds (RFC 4287): the site's digests, and one feed per condition.

Ids are `tag:` URIs minted from the configured authority (never from urls or titles),
so they survive a move of the site. `updated` values come from the view (built_at,
first_seen), never from the clock, so two builds of the same data are byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import quote

from lxml import etree

from digest.render.environment import html_env
from digest.render.labels import design_label
from digest.render.registry import registry_summary, results_summary
from digest.render.sanitize import one_line
from digest.render.urls import Urls
from digest.render.wording import period_text, published_text, rfc3339, sample_size_text
from digest.views import ConditionView, DigestView, SiteView, StudyView

# lxml ships without type stubs
Element = Any

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
MAX_ENTRIES = 50


def tag_uri(authority: str, specific: str) -> str:
    """tag:digest.example.org,2026:digest/2026-W47 (RFC 4151)."""
    return f"tag:{authority}:{quote(specific, safe='/-._~,')}"


def _el(parent: Element, name: str, text: str | None = None, **attributes: str) -> Element:
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{name}", attributes)
    if text is not None:
        element.text = _xml_text(text)
    return element


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters other than tab/newline dropped."""
    return _NOT_XML.sub("", text)


def _feed(
    feed_id: str, title: str, updated: datetime, self_url: str, alternate: str, author: str
) -> Element:
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    _el(feed, "id", feed_id)
    _el(feed, "title", title, type="text")
    _el(feed, "updated", rfc3339(updated))
    _el(feed, "link", rel="self", type=ATOM_TYPE, href=self_url)
    _el(feed, "link", rel="alternate", type="text/html", href=alternate)
    _el(_el(feed, "author"), "name", author)
    _el(feed, "generator", "digest")
    return feed


def _serialize(feed: Element) -> bytes:
    data: bytes = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return data


# --------------------------------------------------------------------------- digests


def _digest_summary(digest: DigestView) -> str:
    studies = digest.studies()
    counts: dict[str, int] = {}
    for study in studies:
        label = design_label(study)
        counts[label] = counts.get(label, 0) + 1
    text = f"{period_text(digest.period_start, digest.period_end)}: {digest.headline}"
    if counts:
        text += " (" + ", ".join(f"{n} × {label}" for label, n in counts.items()) + ")"
    if digest.corrections:
        text += f"; {len(digest.corrections)} correction(s) to earlier issues"
    return text + "."


def _digest_entry(feed: Element, digest: DigestView, site: SiteView) -> None:
    urls = Urls(site.settings.base_url)
    entry = _el(feed, "entry")
    _el(entry, "id", tag_uri(site.settings.tag_authority, f"digest/{digest.week}"))
    _el(
        entry,
        "title",
        f"{one_line(digest.title)}: {digest.week_label} ({digest.week})",
        type="text",
    )
    _el(entry, "updated", rfc3339(digest.built_at))
    _el(entry, "link", rel="alternate", type="text/html", href=urls.digest(digest.week))
    _el(entry, "summary", _digest_summary(digest), type="text")
    # an escaped HTML fragment built by the autoescaping templates: safe by construction
    html = html_env().get_template("partials/feed_digest.html").render(d=digest, u=urls)
    _el(entry, "content", html, type="html")


def render_digests_feed(site: SiteView) -> bytes:
    """/feed.xml: the newest digests, newest first."""
    settings = site.settings
    digests = site.digests[:MAX_ENTRIES]
    updated = max((d.built_at for d in digests), default=site.built_at)
    feed = _feed(
        feed_id=tag_uri(settings.tag_authority, "digests"),
        title=one_line(settings.title),
        updated=updated,
        self_url=settings.base_url + "feed.xml",
        alternate=settings.base_url,
        author=one_line(settings.title),
    )
    for digest in digests:
        _digest_entry(feed, digest, site)
    return _serialize(feed)


# --------------------------------------------------------------------------- conditions


def study_updated(study: StudyView, fallback: datetime) -> datetime:
    """When readers last needed to hear about a study: a flag, else when it was first seen."""
    if study.updated is not None:
        return study.updated
    if study.first_seen is not None:
        return datetime.combine(study.first_seen, time(0, 0), tzinfo=UTC)
    return fallback


def _study_summary(study: StudyView) -> str:
    bits = [design_label(study)]
    if study.journal:
        bits.append(one_line(study.journal))
    if study.design == "trial-registration":
        registered = study.registration.registered if study.registration else None
        bits.append("Registered " + published_text(registered or study.published))
        if study.registration:
            bits.append(registry_summary(study.registration))
            bits.append(results_summary(study.registration)[0].removesuffix(":"))
    else:
        bits += [published_text(study.published), sample_size_text(study.sample_size)]
    text = ". ".join(bits) + "."
    if study.retracted:
        text = "RETRACTED: do not rely on its findings. " + text
    if study.key_finding:
        text += f" What the authors concluded, in their words: “{one_line(study.key_finding)}”"
    return text


def _study_entries(feed: Element, studies: Sequence[StudyView], site: SiteView) -> None:
    urls = Urls(site.settings.base_url)
    seen: set[str] = set()
    for study in studies:
        entry_id = tag_uri(site.settings.tag_authority, f"study/{study.feed_key or study.slug}")
        if entry_id in seen:
            continue
        seen.add(entry_id)
        entry = _el(feed, "entry")
        _el(entry, "id", entry_id)
        title = ("[Retracted] " if study.retracted else "") + one_line(study.title)
        _el(entry, "title", title, type="text")
        _el(entry, "updated", rfc3339(study_updated(study, site.built_at)))
        _el(entry, "link", rel="alternate", type="text/html", href=urls.study(study.slug))
        _el(entry, "summary", _study_summary(study), type="text")
        _el(entry, "category", term=study.design, label=design_label(study))


def render_condition_feed(site: SiteView, condition: ConditionView) -> bytes:
    """/conditions/<slug>/feed.xml: that condition's studies in the order given."""
    settings = site.settings
    studies = condition.studies[:MAX_ENTRIES]
    updated = max((study_updated(s, site.built_at) for s in studies), default=site.built_at)
    urls = Urls(settings.base_url)
    feed = _feed(
        feed_id=tag_uri(settings.tag_authority, f"condition/{condition.slug}"),
        title=f"{one_line(settings.title)}: {one_line(condition.label)}",
        updated=updated,
        self_url=urls.condition_feed(condition.slug),
        alternate=urls.condition(condition.slug),
        author=one_line(settings.title),
    )
    _study_entries(feed, studies, site)
    return _serialize(feed)
