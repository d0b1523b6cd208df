"""A local cloud: Tencent Cloud API 3.0 (mdl, mdc, mdp, live) and the IVS real-time REST API.

One HTTP server on one port (``server.py``) routes Tencent calls by service and IVS calls by
path to ``tencent.py`` and ``ivs.py``, which hold the simulated state. A control API under
``/_sim/`` injects signals, faults and latency and exposes the requests received. The real
SDKs are pointed at it in tests and in the demo mode, so signing, serialisation and error
handling run for real. It imports no Django model and needs no Django settings.
"""
