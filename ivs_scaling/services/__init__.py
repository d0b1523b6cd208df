"""What changes a show: one function per use case (see each module's docstring).

* ``seats``: the viewer's join (the decision, then the token) and leave;
* ``scaling``: the scale-up decision and the watch (broadcaster, pending replications,
  scale down);
* ``stages``: the stage actions and their runners (create, replicate, drain, delete);
* ``replication``: participant replication decided from IVS's lists;
* ``reconcile``: the database against IVS;
* ``shows``: shows, the broadcaster's token, ending, the existing frontend's manual calls.
"""
