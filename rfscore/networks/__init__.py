"""Time-conditioned score networks trained beside the random-features theory (theory/trained_networks.md).

Needs the optional extra ``rfscore[nets]`` (equinox). ``rfscore.networks.data`` needs no extra.
"""
