"""The Asterisk 22 state model behind ``Simulator``, split by responsibility.

``objects`` holds the resources and their JSON; ``world`` the registries, ids and event
routing; ``calls``, ``playback`` and ``recording`` the engines that move state over simulated
time; ``rest_*`` the REST handlers, one module per group of ARI resources.  The Backend that
composes them is ``ari.testing.asterisk.AsteriskState``.
"""
