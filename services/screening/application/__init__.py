"""Screening's use cases: policies on registration's events and commands of the office."""
