"""digest: an honest weekly evidence digest of acupuncture-for-pain research."""

__version__ = "0.1.0"
