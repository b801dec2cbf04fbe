"""Handler of `digest recheck`: the re-check of studies already sent, and what it found."""

from __future__ import annotations

from digest.app import operations
from digest.app.cli.context import Context
from digest.app.cli.exits import EXIT_FAILED, EXIT_OK, UsageError
from digest.facts import WORDING, normalize_doi
from digest.model import utcnow


def _weight(kind: str) -> int:
    return WORDING[kind].weight if kind in WORDING else 0


def cmd_recheck(ctx: Context) -> int:
    bad = [d for d in ctx.args.doi if normalize_doi(d) is None]
    if bad:
        raise UsageError(f"not a DOI: {bad[0]!r} (expected e.g. 10.1016/S0140-6736(97)11096-0)")
    report = operations.run_recheck(
        ctx.settings,
        ctx.engine(),
        utcnow(),
        dois=ctx.args.doi,
        write_site=not ctx.args.no_site,
        progress=ctx.progress,
    )
    out = ctx.out
    print(
        f"re-checked {report.checked} identifier(s) of {report.studies} watched "
        f"stud{'y' if report.studies == 1 else 'ies'} in {report.requests} request(s), "
        f"{report.seconds:.1f} s; {report.fetched} fetched in full",
        file=out,
    )
    if report.not_in_crossref:
        print(f"not in Crossref ({len(report.not_in_crossref)}):", file=out)
        for doi in report.not_in_crossref:
            print(f"  {doi}", file=out)
    if report.not_in_pubmed:
        missing = ", ".join(report.not_in_pubmed)
        print(f"no PubMed article ({len(report.not_in_pubmed)}): {missing}", file=out)
    if report.new_notices:
        print(f"new notices ({len(report.new_notices)}):", file=out)
        heaviest = sorted(report.new_notices, key=lambda n: -_weight(n[1]))
        for slug, kind, url in heaviest:
            label = WORDING[kind].label if kind in WORDING else kind
            print(f"  {slug}: {label}{f' {url}' if url else ''}", file=out)
    else:
        print("no new notices", file=out)
    if report.site_files:
        print(f"site: {report.site_files} file(s) written", file=out)
    if report.emails:
        print(f"correction emails sent: {report.emails}", file=out)
    for failure in report.failed:
        print(f"error: {failure}", file=ctx.err)
    return EXIT_OK if report.ok else EXIT_FAILED
