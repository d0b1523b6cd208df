"""Cloud gateways.

The only code that talks to a cloud. ``tencent.py`` wraps StreamLive, StreamLink, StreamPackage
and CSS on the international Tencent Cloud SDK, ``ivs.py`` wraps Amazon IVS real-time on boto3;
both return frozen dataclasses and raise the error types of ``errors.py``, never SDK objects.
``simulator/`` is a local server speaking both APIs, used by the tests and by the demo mode. It
imports no Django model.
"""
