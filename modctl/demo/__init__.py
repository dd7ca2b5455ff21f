"""`modctl demo`: the whole loop, told and run for real in a throw-away strategy repository.

`story` says what happens, act by act; `workspace` owns the demo's folder and the few things the
demo does itself between commands; `metrics` makes the canary's counts, seeded; `run` plays the
acts through a command runner the CLI hands in, so that this package never imports the CLI.
"""
