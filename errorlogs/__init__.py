"""Player errors.

Error reports sent by the browser players when MediaMTX (WHEP) fails: validation, storage as
rows and as one JSON Lines file per day, grouping, spike alerts, the latest-N API and the
statistics. It stands alone.
"""
