"""The web process's entry point."""


def test_the_web_process_keeps_its_start_up_objects_out_of_full_collections():
    import gc

    import broadcastops.asgi  # noqa: F401

    # Django and the routes: hundreds of thousands of objects no full collection should walk.
    assert gc.get_freeze_count() > 50_000
