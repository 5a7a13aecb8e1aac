"""Official status: the providers' own status pages, polled beside the crowd.

models (rows), parsers (payload -> Snapshot, pure), services (claim, poll, store, load the
data file sources.json), selectors (reads for pages, API, alerts, track record), tasks
(thin). docs/official-status.md describes the whole.
"""
