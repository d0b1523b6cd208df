"""The JSON Lines files: whole lines from several processes at once, the day in the
operators' time zone, nothing left of a failed batch; retention."""

import gzip
import json
import multiprocessing
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from errorlogs.models import ErrorGroup, ErrorReport, Incident
from errorlogs.services import errorlogs_prune, reports_store
from errorlogs.tests.conftest import report
from errorlogs.tests.sink_writer import append_many
from errorlogs.types import Client
from errorlogs.validation import reports_parse


def parsed(items, *, at=None):
    return reports_parse(
        json.dumps(items).encode(),
        content_type="application/json",
        client=Client(address="10.1.2.3"),
        received_at=at or timezone.now(),
    )


def test_lines_stay_whole_with_several_processes_writing(tmp_path):
    folder = tmp_path / "logs"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=append_many, args=(folder, w, 150)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
        assert process.exitcode == 0
    rows = [json.loads(line) for line in (folder / "2026-01-08.jsonl").read_text().splitlines()]
    assert len(rows) == 4 * 150 * 3
    assert {(r["writer"], r["n"]) for r in rows} == {(w, n) for w in range(4) for n in range(150)}


@pytest.mark.django_db
def test_the_day_follows_the_time_zone(settings, errorlogs_state):
    settings.TIME_ZONE = "Asia/Seoul"
    # 16:30 UTC is 01:30 the next day in Seoul.
    reports_store(reports=parsed([report()], at=datetime(2026, 1, 8, 16, 30, tzinfo=UTC)))
    assert [p.name for p in errorlogs_state.iterdir()] == ["2026-01-09.jsonl"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_batch_leaves_no_row_and_no_line(errorlogs_state, monkeypatch):
    reports_store(reports=parsed([report()]))
    from errorlogs.services import reports as module

    def refuse(*args, **kwargs):
        raise RuntimeError("the database refused")

    monkeypatch.setattr(module, "incidents_note", refuse)
    with pytest.raises(RuntimeError):
        reports_store(reports=parsed([report(), report()]))
    assert ErrorReport.objects.count() == 1
    [path] = errorlogs_state.iterdir()
    assert len(path.read_text().splitlines()) == 1

    # The commit itself fails after the lines were written: they are cut off again. A failed
    # commit is a DatabaseError, which Django's atomic block answers with a rollback (any
    # other exception out of commit() would leave psycopg's connection in its transaction).
    monkeypatch.undo()
    from django.db import OperationalError, connection

    def commit_fails(*args, **kwargs):
        raise OperationalError("commit failed")

    with pytest.raises(OperationalError), monkeypatch.context() as patch:
        patch.setattr(connection, "commit", commit_fails)
        reports_store(reports=parsed([report()]))
    assert len(path.read_text().splitlines()) == 1


@pytest.mark.django_db
def test_prune_removes_old_rows_and_gzips_then_removes_old_files(settings, errorlogs_state):
    settings.TIME_ZONE = "UTC"
    now = timezone.now()
    for age_days in (0, 3, 40):
        reports_store(
            reports=parsed([report(clientId=f"v{age_days}")], at=now - timedelta(days=age_days))
        )
    Incident.objects.create(
        scope_key="host:x",
        trigger="viewers",
        state="resolved",
        opened_at=now - timedelta(days=41),
        first_report_at=now - timedelta(days=41),
        last_report_at=now - timedelta(days=41),
        resolved_at=now - timedelta(days=40),
    )
    (errorlogs_state / "notes.txt").write_text("not ours")
    call_command("prune_errorlogs", "--days", "30")
    assert ErrorReport.objects.count() == 2 and not Incident.objects.exists()
    assert ErrorGroup.objects.get().report_count == 3  # the group was seen recently
    names = sorted(p.name for p in errorlogs_state.iterdir())
    today, three = now.date(), (now - timedelta(days=3)).date()
    assert names == [f"{three}.jsonl.gz", f"{today}.jsonl", "notes.txt"]
    with gzip.open(errorlogs_state / f"{three}.jsonl.gz", "rt") as kept:
        assert json.loads(kept.read())["clientInfo"]["browserName"] == "Chrome"
    assert errorlogs_prune(days=30).files_compressed == 0
    assert uuid.UUID(ErrorReport.objects.first().report_id.hex)


@pytest.mark.django_db
def test_a_known_group_is_counted_once_and_a_pruned_one_made_again(
    django_capture_on_commit_callbacks,
):
    """Groups this process wrote before are counted in one statement; one that another
    process pruned meanwhile is created again, the batch counted once (not twice)."""
    from errorlogs.services.reports import known

    start = timezone.now()
    for n in range(3):  # the second and third batches take the known groups' path
        with django_capture_on_commit_callbacks(execute=True):
            reports_store(
                reports=parsed(
                    [report(clientId=f"v{n}"), report(clientId=f"v{n}", statusCode=503)],
                    at=start + timedelta(seconds=n),
                )
            )
    assert len(known.groups) == 2
    counted = {g.status_code: (g.report_count, g.client_count) for g in ErrorGroup.objects.all()}
    assert counted == {502: (3, 3), 503: (3, 3)}
    assert {g.last_seen_at for g in ErrorGroup.objects.all()} == {start + timedelta(seconds=2)}
    with django_capture_on_commit_callbacks(execute=True):  # an older report: last seen stays
        reports_store(reports=parsed([report()], at=start - timedelta(seconds=5)))
    assert ErrorGroup.objects.get(status_code=502).last_seen_at == start + timedelta(seconds=2)

    ErrorGroup.objects.filter(status_code=502).delete()  # the retention, in another process
    with django_capture_on_commit_callbacks(execute=True):
        reports_store(reports=parsed([report(), report(statusCode=503)]))
    counted = {g.status_code: g.report_count for g in ErrorGroup.objects.all()}
    assert counted == {502: 1, 503: 4}
    assert ErrorReport.objects.count() == 9
