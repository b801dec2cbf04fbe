"""A trial registration in plain words: status, enrolment, results and where to find them."""

from __future__ import annotations

from urllib.parse import quote

from digest.render import sanitize
from digest.render.wording import published_text
from digest.views import RegistrationView, ResultsPaper

_STATUS = {
    "NOT_YET_RECRUITING": ("recruiting", "Not yet recruiting", ""),
    "RECRUITING": ("recruiting", "Recruiting", ""),
    "ENROLLING_BY_INVITATION": ("recruiting", "Enrolling by invitation", ""),
    "ACTIVE_NOT_RECRUITING": ("active", "Active, not recruiting", "running"),
    "SUSPENDED": ("active", "Suspended", "paused"),
    "COMPLETED": ("completed", "Completed", ""),
    "TERMINATED": ("terminated", "Terminated", "stopped early"),
    "WITHDRAWN": ("withdrawn", "Withdrawn", "stopped before anyone took part"),
    "UNKNOWN": ("unknown", "Unknown", "the sponsor stopped updating the record"),
}


def trial_status(reg: RegistrationView) -> tuple[str, str]:
    """(group, words) of a registration's overall status. A legacy record's own wording
    ("Unknown status") is what is shown, with a plain explanation beside it."""
    group, words, why = _STATUS.get(reg.status or "", ("unknown", "Not stated by the registry", ""))
    shown = sanitize.one_line(reg.status_raw) if reg.status_raw else words
    return group, f"{shown} ({why})" if why else shown


def enrolment_text(reg: RegistrationView) -> str:
    if reg.enrollment is None:
        return "not stated"
    kind = {"ACTUAL": "actual", "ESTIMATED": "estimated"}.get(reg.enrollment_type or "")
    count = f"{reg.enrollment:,} {'person' if reg.enrollment == 1 else 'people'}"
    return f"{count} ({kind})" if kind else f"{count} (registry does not say actual or planned)"


def results_search_url(registry_id: str) -> str:
    return "https://pubmed.ncbi.nlm.nih.gov/?term=" + quote(registry_id, safe="")


def results_paper_label(paper: ResultsPaper) -> str:
    if paper.pmid:
        return f"PubMed {paper.pmid}"
    return f"DOI {paper.doi}" if paper.doi else "a paper"


def registry_summary(reg: RegistrationView) -> str:
    """'Trial status: Completed · started Apr 2004 · completed Jun 2007 · enrolment …'."""
    group, status = trial_status(reg)
    parts = [f"Trial status: {status}"]
    if reg.start_date:
        parts.append(f"started {published_text(reg.start_date)}")
    if reg.completion_date:
        word = "completed" if group == "completed" else "completion"
        parts.append(f"{word} {published_text(reg.completion_date)}")
    if reg.enrollment is not None:
        parts.append(f"enrolment {enrolment_text(reg)}")
    return " · ".join(parts)


def results_summary(reg: RegistrationView) -> tuple[str, tuple[str, ...]]:
    """The results line of a registration in plain text, and the urls it points to."""
    if reg.results:
        names = [
            results_paper_label(p) + (" (retracted)" if p.retracted else "") for p in reg.results
        ]
        urls = tuple(u for u in (sanitize.pubmed_url(p.pmid) for p in reg.results) if u)
        return "Results published: " + "; ".join(names), urls
    if reg.has_posted_results:
        url = sanitize.registry_url(reg.registry_id)
        return "Results are posted on the registry.", (url,) if url else ()
    return (
        "No results yet: the registry cites no paper reporting them. Look for them in PubMed:",
        (results_search_url(reg.registry_id),),
    )
