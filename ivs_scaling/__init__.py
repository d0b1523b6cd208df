"""IVS stage scaling.

Amazon IVS real-time stages: the publisher on the master stage, viewer assignment to stages
with room, participant replication of the broadcaster into new stages, scale-up and scale-down,
and reconciliation against ``ListParticipants``. It stands alone.
"""
