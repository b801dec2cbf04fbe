"""RSS/Atom feeds (any journal, PubMed "Create RSS", NCCIH news) -> RecordData.

feedparser 6 gets the body as a stream and the response headers, never a URL, so it never
does HTTP (or opens a file). Its output is then reduced to plain text: HTML summaries go
through `html_to_text`; text/plain values are kept as text unless they carry tags.

feedparser keeps only the last of repeated unknown elements (PubMed items carry
``<dc:identifier>pmid:…</dc:identifier><dc:identifier>doi:…</dc:identifier>``), so a
second, lenient lxml pass collects every identifier-like element per item.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
from lxml import etree

from digest.errors import ParseError
from digest.facts import find_dois, find_nct_ids, find_pmid_in_url, normalize_doi, normalize_pmid
from digest.limits import MAX_FEED_NAME_CHARS, MAX_FEED_TEXT_CHARS
from digest.model import ParseResult, RecordData
from digest.sources.text import collapse_whitespace, html_to_text, looks_like_markup

# Query parameters that only track a click; dropping them keeps an item's URL stable.
_TRACKING_PARAMS = frozenset(
    {
        "fc", "ff", "v", "fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "mkt_tok", "igshid", "ref_src", "cmpid", "wt.mc_id", "icid",
        "sc_cid", "trk",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "__")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PMID_IN_TEXT = re.compile(r"\bPMID:?\s*(\d{1,9})\b")

_NS_DC = "http://purl.org/dc/elements/1.1/"
# (namespace, local name) of elements read by the lxml pass; any PRISM version is accepted.
_IDENTIFIER_ELEMENTS = {
    (_NS_DC, "identifier"): "identifier",
    (_NS_DC, "source"): "source",
    ("prism", "doi"): "doi",
    ("prism", "publicationName"): "publication",
}


def canonical_url(url: str) -> str:
    """A URL without tracking parameters or fragment, with lower-case scheme/host and
    sorted query, so the same item fetched twice with new `utm_*`/`fc`/`ff`/`v` is equal."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and _DEFAULT_PORTS.get(scheme) != parts.port:
        host = f"{host}:{parts.port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    )
    return urlunsplit((scheme, host, parts.path or ("/" if host else ""), urlencode(query), ""))


# --------------------------------------------------------------------------- lxml side pass


@dataclass(slots=True)
class _ItemIds:
    """Identifier-like values one item holds (all repeats kept), for matching and lookup."""

    guid: str | None = None
    values: dict[str, list[str]] = field(default_factory=dict)


# Prefixes a feed may use without declaring them (lxml's recover mode keeps the element as
# "dc:identifier" with no namespace); read as the namespace they always stand for.
_USUAL_PREFIXES = {"dc": _NS_DC, "prism": "prism"}


def _qname(element: Any) -> tuple[str, str]:
    """(namespace, local name) of an element, also for an undeclared "prefix:name" tag."""
    try:
        qname = etree.QName(element)
    except ValueError:  # "dc:creator" without xmlns:dc: recover like feed readers do
        prefix, _, local = str(element.tag).rpartition(":")
        return _USUAL_PREFIXES.get(prefix, prefix), local
    return qname.namespace or "", qname.localname


def _namespace_key(element: Any) -> str | None:
    namespace, localname = _qname(element)
    if "prismstandard.org" in namespace:
        namespace = "prism"
    return _IDENTIFIER_ELEMENTS.get((namespace, localname))


def _scan_items(payload: bytes) -> list[_ItemIds]:
    """Every RSS item / Atom entry in document order with its dc/prism identifiers."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    items = []
    for element in root.iter():
        if not isinstance(element.tag, str) or _qname(element)[1] not in ("item", "entry"):
            continue
        found = _ItemIds()
        for child in element:
            if not isinstance(child.tag, str):
                continue
            name = _qname(child)[1]
            text = collapse_whitespace("".join(child.itertext()))
            if name in ("guid", "id") and found.guid is None:
                found.guid = text or None
            key = _namespace_key(child)
            if key and text:
                found.values.setdefault(key, []).append(text)
        items.append(found)
    return items


def _match_item_ids(entries: list[Any], scanned: list[_ItemIds]) -> list[_ItemIds]:
    """Pair feedparser entries with scanned items: by position when counts agree, else by guid."""
    if len(entries) == len(scanned):
        return scanned
    by_guid = {item.guid: item for item in scanned if item.guid}
    return [by_guid.get(entry.get("id") or "", _ItemIds()) for entry in entries]


# --------------------------------------------------------------------------- feedparser side


# feedparser runs an e-mail regex over person elements that is quadratic in their length
# (100 kB of <author> without "@" took 36 s): their text is capped before it parses.
_PERSON = (
    rb"(?:[\w.-]+:)?(?:author|creator|contributor|managingEditor|webMaster|name|email|publisher)"
)
_PERSON_TEXT = re.compile(
    rb"(<" + _PERSON + rb"\b[^<>]*>\s*(?:<!\[CDATA\[)?)([^<\]]{%d,})" % MAX_FEED_NAME_CHARS,
    re.IGNORECASE,
)
_LONG_TEXT = re.compile(rb"([^<]{%d})[^<]+" % MAX_FEED_TEXT_CHARS)
# A character reference to a UTF-16 surrogate is not XML; feedparser's loose parser would
# crash encoding it. It becomes U+FFFD, as an undecodable byte would.
_SURROGATE_REF = re.compile(
    rb"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}"
    rb"|0*(?:5529[6-9]|55[3-9]\d\d|56\d{3}|57[0-2]\d\d|573[0-3]\d|5734[0-3]));"
)


def _defuse(payload: bytes, warnings: list[str]) -> bytes:
    """The payload with over-long element text cut and surrogate references replaced."""
    payload, cut = _PERSON_TEXT.subn(
        lambda m: m.group(1) + m.group(2)[:MAX_FEED_NAME_CHARS], payload
    )
    payload, long = _LONG_TEXT.subn(rb"\1", payload)
    if cut or long:
        warnings.append(
            f"{cut + long} over-long element text(s) cut to {MAX_FEED_NAME_CHARS:,} characters "
            f"(names) or {MAX_FEED_TEXT_CHARS:,} (other text)"
        )
    payload, bad = _SURROGATE_REF.subn(b"&#xFFFD;", payload)
    if bad:
        warnings.append(f"{bad} character reference(s) to UTF-16 surrogates replaced by U+FFFD")
    return payload


def _content_type_header(content_type: str | None) -> dict[str, str]:
    # Without a Content-Type feedparser flags the feed as bozo; application/xml (unlike a
    # bare text/xml, which RFC 3023 makes us-ascii) lets the XML declaration name the encoding.
    return {"content-type": content_type or "application/xml"}


def _run_feedparser(payload: bytes, content_type: str | None, base_url: str | None) -> Any:
    headers = _content_type_header(content_type)
    if base_url:
        headers["content-location"] = base_url
    # A stream, never bytes/str: feedparser would try a str as a URL and bytes as a file name.
    return feedparser.parse(io.BytesIO(payload), response_headers=headers)


def _plain(detail: Any, value: Any) -> str:
    """A feedparser text construct -> plain text (HTML converted, text/plain kept as text)."""
    text = value if isinstance(value, str) else ""
    kind = str((detail or {}).get("type") or "text/html").lower()
    if "html" in kind or "xml" in kind or looks_like_markup(text):
        return html_to_text(text)
    return collapse_whitespace(text)


def _summary(entry: Any) -> str | None:
    for content in entry.get("content") or []:
        text = _plain(content, content.get("value"))
        if text:
            return text
    text = _plain(entry.get("summary_detail"), entry.get("summary"))
    return text or None


def _iso_datetime(parsed: Any) -> str | None:
    if not isinstance(parsed, time.struct_time):
        return None
    return datetime(*parsed[:6], tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _authors(entry: Any) -> list[str]:
    names = [collapse_whitespace(a.get("name") or "") for a in entry.get("authors") or []]
    names = [n for n in names if n]
    if not names and entry.get("author"):
        names = [collapse_whitespace(str(entry["author"]))]
    return list(dict.fromkeys(names))


def _entry_link(entry: Any, base: str | None) -> str | None:
    href = entry.get("link")
    for link in entry.get("links") or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            href = link["href"]
            break
    if not href:
        return None
    return canonical_url(urljoin(base, href) if base else href)


def _prefixed(values: list[str], prefix: str) -> list[str]:
    return [v.split(":", 1)[1].strip() for v in values if v.lower().startswith(prefix)]


def _single(values: list[str]) -> str | None:
    """The value when exactly one distinct value was found (text may cite other works)."""
    unique = list(dict.fromkeys(values))
    return unique[0] if len(unique) == 1 else None


def _doi_of(entry: Any, ids: _ItemIds, link: str | None, summary: str | None) -> str | None:
    identifiers = ids.values.get("identifier", [])
    declared = [
        *ids.values.get("doi", []),
        *_prefixed(identifiers, "doi:"),
        *identifiers,
        *(str(entry.get(k)) for k in ("prism_doi", "dc_identifier") if entry.get(k)),
    ]
    for candidate in declared:
        if doi := normalize_doi(candidate):
            return doi
    # a DOI in a link path: doi.org/<doi> or a publisher's /doi/<doi> (query is not part of it)
    hrefs = [link or "", *(str(x.get("href") or "") for x in entry.get("links") or [])]
    for href in hrefs:
        if doi := next(iter(find_dois(urlsplit(href).path)), None):
            return doi
    return _single(find_dois(summary))


def _pmid_of(entry: Any, ids: _ItemIds, link: str | None, summary: str | None) -> str | None:
    from_identifier = _prefixed(ids.values.get("identifier", []), "pmid:")
    if str(entry.get("dc_identifier", "")).lower().startswith("pmid:"):
        from_identifier.append(entry["dc_identifier"].split(":", 1)[1])
    for candidate in from_identifier:
        if pmid := normalize_pmid(candidate):
            return pmid
    if pmid := find_pmid_in_url(link):
        return pmid
    return _single([m.group(1).lstrip("0") for m in _PMID_IN_TEXT.finditer(summary or "")])


def _journal_of(entry: Any, ids: _ItemIds) -> str | None:
    for key in ("publication", "source"):
        if ids.values.get(key):
            return ids.values[key][0]
    value = entry.get("prism_publicationname") or entry.get("dc_source")
    return collapse_whitespace(value) if isinstance(value, str) and value.strip() else None


def _source_id(entry: Any, link: str | None) -> str | None:
    guid = collapse_whitespace(str(entry.get("id") or ""))
    if guid.lower().startswith(("http://", "https://")):
        return canonical_url(guid)
    return guid or link


def _entry_to_record(
    entry: Any, ids: _ItemIds, source: str, base: str | None, feed_title: str | None
) -> RecordData:
    link = _entry_link(entry, base)
    source_id = _source_id(entry, link)
    title = _plain(entry.get("title_detail"), entry.get("title"))
    if not source_id:
        raise ParseError(f"entry without id or link ({title[:60]!r})", source=source)
    summary = _summary(entry)
    # dict.get: feedparser's own lookup silently maps a missing "updated" to "published"
    updated = _iso_datetime(dict.get(entry, "updated_parsed"))
    published = _iso_datetime(dict.get(entry, "published_parsed")) or updated
    return RecordData(
        source=source,
        source_id=source_id,
        pmid=_pmid_of(entry, ids, link, summary),
        doi=_doi_of(entry, ids, link, summary),
        nct_ids=find_nct_ids(f"{title}\n{summary or ''}"),
        title=title,
        abstract=summary,
        journal=_journal_of(entry, ids),
        published=published[:10] if published else None,
        authors=_authors(entry),
        url=link,
        extra={
            "guid": entry.get("id"),
            "published_at": published,
            "updated_at": updated,
            "feed_title": feed_title,
            "categories": [t.get("term") for t in entry.get("tags") or [] if t.get("term")],
        },
    )


# --------------------------------------------------------------------------- public API


@dataclass(slots=True)
class _ParsedFeed:
    entries: list[Any]
    item_ids: list[_ItemIds]
    base: str | None
    title: str | None
    warnings: list[str]


def _read_feed(
    payload: bytes, source: str, content_type: str | None, base_url: str | None
) -> _ParsedFeed:
    warnings: list[str] = []
    payload = _defuse(payload, warnings)
    try:
        parsed = _run_feedparser(payload, content_type, base_url)
    except (UnicodeError, LookupError, ValueError, TypeError) as exc:  # feedparser's encodings
        raise ParseError(
            f"not a readable RSS/Atom feed: {type(exc).__name__}", source=source
        ) from exc
    entries = list(parsed.entries)
    if parsed.bozo:
        problem = collapse_whitespace(str(parsed.get("bozo_exception") or "not well-formed"))
        if not entries:
            raise ParseError(f"not a usable RSS/Atom feed: {problem[:200]}", source=source)
        warnings.append(f"feed is not well-formed ({problem[:200]}); {len(entries)} entries kept")
    elif not entries and not parsed.get("version"):
        raise ParseError("not an RSS/Atom feed (no feed root element)", source=source)
    feed = parsed.get("feed") or {}
    base = base_url or feed.get("link") or None
    title = _plain(feed.get("title_detail"), feed.get("title")) or None
    item_ids = _match_item_ids(entries, _scan_items(payload))
    return _ParsedFeed(entries, item_ids, base, title, warnings)


def parse_feed(
    payload: bytes,
    source: str = "rss",
    *,
    content_type: str | None = None,
    base_url: str | None = None,
) -> ParseResult:
    """Any RSS/Atom payload -> one record per entry. A bad entry is skipped with a warning;
    a payload with no entries that is not well-formed (HTML page, truncated junk) raises."""
    feed = _read_feed(payload, source, content_type, base_url)
    result = ParseResult(warnings=list(feed.warnings))
    for index, (entry, ids) in enumerate(zip(feed.entries, feed.item_ids, strict=True)):
        try:
            result.records.append(_entry_to_record(entry, ids, source, feed.base, feed.title))
        except (ParseError, ValueError, TypeError) as exc:
            result.warnings.append(f"entry #{index} skipped: {exc}")
    if feed.entries and not result.records:
        raise ParseError(f"every entry failed ({result.warnings[-1]})", source=source)
    return result


def parse_rss(
    payload: bytes, context: Mapping[str, Any] | None = None, content_type: str | None = None
) -> ParseResult:
    """The `rss` kind's parser. With the fetch context ({"name", "url"}), relative links
    resolve against the configured feed URL and guids are prefixed with the source name
    (they are only unique within their own feed)."""
    context = context or {}
    result = parse_feed(payload, "rss", content_type=content_type, base_url=context.get("url"))
    name = context.get("name")
    if name:
        for record in result.records:
            if record.source == "rss":
                record.source_id = f"{name}:{record.source_id}"
    return result
