"""Making untrusted text and urls safe to put in HTML, Markdown, plain text and feeds.

Titles, abstracts and findings are plain text: HTML escaping is Jinja's autoescape, here
are only the other contexts. Any url that reaches an href goes through `safe_url`, which
lets only http(s) through, so `javascript:`/`data:` links cannot be made from a record.
No HTML fragment from outside is rendered anywhere (abstracts arrive as plain text);
should one ever need to be, run it through nh3 with a strict allow-list first.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

from digest import facts

_MAX_URL = 2048
# printable url characters that may stay as they are; everything else is %-encoded
_URL_SAFE = "/:?#[]@!$&*+,;=%~-._"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s+")
# Markdown punctuation that could start markup (links, emphasis, raw HTML, code, tables)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")
_PMID = re.compile(r"^\d{1,9}$")
_PMCID = re.compile(r"^PMC\d{1,12}$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_WEEK = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")


def one_line(text: str | None) -> str:
    """Text on one line: control characters dropped, runs of whitespace collapsed."""
    if not text:
        return ""
    return _WHITESPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def safe_url(url: str | None) -> str | None:
    """The url if it is an absolute http(s) url without credentials, else None."""
    if not url:
        return None
    candidate = unicodedata.normalize("NFKC", url).strip()
    if len(candidate) > _MAX_URL or _CONTROL.search(candidate) or " " in candidate:
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "@" in parts.netloc or "\\" in candidate:
        return None  # userinfo in a link is a phishing trick, never needed here
    return quote(candidate, safe=_URL_SAFE)


def markdown_escape(text: str | None) -> str:
    """Plain text safe inside Markdown: one line, markup characters backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))


def is_safe_slug(slug: str) -> bool:
    """A slug that is one path segment, never `..`, a dotfile or a separator."""
    return bool(_SLUG.match(slug)) and ".." not in slug


def is_iso_week(week: str) -> bool:
    return bool(_WEEK.match(week))


def pubmed_url(pmid: str | None) -> str | None:
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid and _PMID.match(pmid) else None


def pmc_url(pmcid: str | None) -> str | None:
    if not pmcid or not _PMCID.match(pmcid.upper()):
        return None
    return f"https://pmc.ncbi.nlm.nih.gov/articles/{pmcid.upper()}/"


def doi_url(doi: str | None) -> str | None:
    text = one_line(doi)
    if not text.startswith("10.") or "/" not in text:
        return None
    return "https://doi.org/" + quote(text, safe="/")


def registry_url(registry_id: str | None) -> str | None:
    """The registration's page on its registry (ClinicalTrials.gov, ISRCTN, ChiCTR, ...)."""
    return facts.registry_url(registry_id) if registry_id else None
