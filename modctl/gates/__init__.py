"""Canary gates: the judge that turns one look's counts into pass, fail or inconclusive. Pure:
imports nothing of modctl but may be imported by `state` and `reports`."""
