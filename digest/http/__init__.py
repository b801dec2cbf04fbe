"""All HTTP goes through here: one session, timeouts, retries, per-host politeness, size cap.

The only package that imports `requests`. Parsers never see a URL, only bytes and headers.

- `client`: `Http`, the client (retries with backoff, deadlines, redirects by hand).
- `settings`: `HttpSettings`, the `http:` block of sources.yaml.
- `response`: `Response`, a finished response.
- `politeness`: `RateLimiter` (per-host spacing) and `parse_retry_after`.
- `redirects`: which redirects may be followed; `body`: reading a body under a size cap.
"""
