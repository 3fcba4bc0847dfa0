"""Matching's adapters: the HTTP API of office staff."""
