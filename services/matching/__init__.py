"""Matching: the pool of candidates who passed screening, the host companies' final
decisions (matches) and the agreements that follow."""
