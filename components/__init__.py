"""One ComponentResource per file; each takes a typed Args dataclass and plain values."""
