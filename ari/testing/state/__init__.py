"""The Asterisk 22 state model behind ``Simulator``, split as moto splits a mock service.

- models: ``objects`` (the resources and their JSON) and ``world`` (the registries, ids,
  lookups that fail with ``ari.testing.errors``' named errors, event routing; it builds the
  engines);
- engines, which make every state change and every event: ``calls`` (channels),
  ``bridging`` (bridges), ``media_channels`` (snoop and external media), ``playback``,
  ``recording`` and ``system`` (modules, logs, configuration, endpoints, device states,
  mailboxes, subscriptions, user events);
- handlers, which only parse requests and serialise answers: ``rest_*``, one module per
  group of ARI resources, on the helpers of ``params``.

The Backend that serves them is ``ari.testing.asterisk.AsteriskState``.

A new simulated operation: a handler in the ``rest_*`` module of its resource that reads the
request, calls an engine and serialises what it returns, entered in that module's
``HANDLERS`` under the description's (resource, nickname); the state change and its events
in the engine that owns the resource (a new engine is built in ``World.__init__``); each
refusal a named error in ``ari/testing/errors.py`` with Asterisk's status and wording.
``tests/unit/test_sim_handlers.py`` fails while the handler tables and the carried
description differ, or when a handler changes state itself.
"""
