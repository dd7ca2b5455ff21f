"""Pure checks over loaded documents, and the catalogue of finding codes they report: JSON
Schemas, `modctl.yaml`, bundles, regexes, contradictory conditions. No file I/O, no git, no
printing. May import the model, findings, errors, `modctl.schemas` and, to compile regexes as the
engine does, `modctl.engine.linear` only.
"""
