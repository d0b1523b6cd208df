"""Input failover.

The StreamLive input-failover audit and repair: a verdict per channel and attached input, the
MAIN/BACKUP mapping from StreamLink flows, a repair plan shown as a diff, and the verified
``ModifyStreamLiveChannel`` that applies it.
"""
