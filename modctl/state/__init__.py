"""The state branch: its file layout, the pure rollout transitions and hot-patch application,
release artifacts, and the store that turns a transition into one compare-and-swap commit (with a
remote: fetch, push, sync), the journal read back from commit trailers, releases, status rows and
audit. Transitions (`rollout`, `hotpatch`, `files`) are pure; every git call goes through
`modctl.gitio`. May import `modctl.source`, `modctl.engine`, the model, errors and `yamlio`; never
`reports` or `cli`.
"""
