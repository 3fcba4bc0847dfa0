"""Matching's use cases: the policy on screening's events and commands of the office."""
