"""Page urls, relative to the page being written (`Urls`)."""

from __future__ import annotations

from collections.abc import Container
from urllib.parse import quote


class Urls:
    """Where things live, relative (`../../`) for site pages or absolute for mail/feeds.

    `known_studies`, when given, is the set of slugs that have a page; `study_if_known`
    returns None for the others so no page links to a page that does not exist.
    """

    def __init__(self, base: str, known_studies: Container[str] | None = None) -> None:
        self.base = base
        self.known_studies = known_studies

    def _at(self, path: str) -> str:
        return (self.base + path) or "./"

    def home(self) -> str:
        return self._at("")

    def digest(self, week: str) -> str:
        return self._at(f"digests/{quote(week)}/")

    def sent(self, key: str) -> str:
        """An issue's frozen "as sent" page (2026-W47, or 2026-M11 for a monthly one)."""
        return self._at(f"sent/{quote(key)}/")

    def issue(self, week: str, month: str | None = None) -> str:
        """Where an issue is read on the web: a monthly one only has its as-sent page."""
        return self.sent(week) if month else self.digest(week)

    def archive(self) -> str:
        return self._at("digests/")

    def study(self, slug: str) -> str:
        return self._at(f"studies/{quote(slug, safe='')}/")

    def study_if_known(self, slug: str) -> str | None:
        if self.known_studies is not None and slug not in self.known_studies:
            return None
        return self.study(slug)

    def citation(self, slug: str, extension: str) -> str:
        return self._at(f"studies/{quote(slug, safe='')}/citation.{extension}")

    def studies(self) -> str:
        return self._at("studies/")

    def condition(self, slug: str) -> str:
        return self._at(f"conditions/{quote(slug, safe='')}/")

    def condition_feed(self, slug: str) -> str:
        return self._at(f"conditions/{quote(slug, safe='')}/feed.xml")

    def conditions(self) -> str:
        return self._at("conditions/")

    def feed(self) -> str:
        return self._at("feed.xml")

    def search(self) -> str:
        return self._at("search/")

    def evidence_map(self) -> str:
        return self._at("evidence-map/")

    def static(self, name: str) -> str:
        return self._at(f"static/{name}")

    def glossary(self, term: str | None = None) -> str:
        anchor = f"#{quote(term, safe='')}" if term else ""
        return self._at("glossary/") + anchor
