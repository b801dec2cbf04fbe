"""Pure parsers: payload bytes in, normalized records (`digest.model.RecordData`) out."""
