"""Canary gates: the judge that turns one look's counts into pass, fail or inconclusive. Pure:
imports nothing of modctl; `source`, `state` and `reports` may import it."""
