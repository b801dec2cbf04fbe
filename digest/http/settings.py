"""The `http:` block of sources.yaml, and the NCBI E-utilities host its rate limits name."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

NCBI_HOST = "eutils.ncbi.nlm.nih.gov"


class HttpSettings(BaseModel):
    """The `http:` block of sources.yaml: timeouts, retries, politeness, budgets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=10)
    backoff_base: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=60.0, ge=0)
    # a Retry-After longer than this ends the source's run (it is retried next time)
    retry_after_max: float = Field(default=300.0, ge=0)
    max_response_bytes: int = Field(default=100_000_000, ge=1024)
    # requests per second per host; E-utilities is also capped at NCBI's own limit
    # (3, or 10 with NCBI_API_KEY), with a 10 % margin
    rate_limits: dict[str, float] = {
        "pubmed.ncbi.nlm.nih.gov": 1.0,
        "clinicaltrials.gov": 0.7,
        "www.ebi.ac.uk": 5.0,
        "www.nccih.nih.gov": 1.0,
        # Crossref's answers say `x-rate-limit-limit: 5`, `x-rate-limit-interval: 1s`
        "api.crossref.org": 5.0,
    }
    default_rate_limit: float = Field(default=2.0, gt=0)
    # wall-clock budgets: one request (all of its body), one source's whole run
    request_deadline: float = Field(default=300.0, gt=0)
    source_deadline: float = Field(default=1800.0, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
