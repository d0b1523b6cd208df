"""The incident alerts errorlogs sent before its sentences were codes (``errorlogs.messages``)
were stored as the worker's text in one language. Each title, text and fact label that is one
of those sentences, in any of the console's languages, becomes its code with the parameters
read back out of the text, so it is shown in each reader's language; anything else (a
sentence worded otherwise) stays the text it was, shown as it is."""

from django.conf import settings
from django.db import migrations

EVENTS = ("errorlogs.incident_opened", "errorlogs.incident_resolved")


def _is_text(stored) -> bool:
    return isinstance(stored, dict) and "text" in stored and not stored.get("code")


def texts_to_codes(apps, schema_editor):
    from errorlogs import messages as m

    Notification = apps.get_model("notify", "Notification")
    for row in Notification.objects.filter(event__in=EVENTS).iterator():
        changed = []
        if _is_text(row.title):
            row.title = m.message_recover(row.title["text"], m.ALERT_TITLES).as_json()
            changed.append("title")
        if _is_text(row.text) and row.text["text"]:
            row.text = m.message_recover(row.text["text"], m.ALERT_TEXTS).as_json()
            changed.append("text")
        if isinstance(row.facts, list):
            facts = []
            for label, value in row.facts:
                if _is_text(label):
                    label = m.message_recover(label["text"], m.FACT_LABELS).as_json()
                if _is_text(value):
                    kinds = [*m.VERDICT.values(), m.NONE_KNOWN]
                    value = m.message_recover(value["text"], kinds).as_json()
                facts.append([label, value])
            if facts != row.facts:
                row.facts = facts
                changed.append("facts")
        if changed:
            row.save(update_fields=changed)


def codes_to_texts(apps, schema_editor):
    """Back: each code rendered in ``NOTIFY_LANGUAGE`` (what the older code showed)."""
    from broadcastops.i18n import Message

    Notification = apps.get_model("notify", "Notification")
    language = settings.NOTIFY_LANGUAGE

    def text(stored):
        return {"text": Message.from_json(stored).render(language)} if stored else stored

    for row in Notification.objects.filter(event__in=EVENTS).iterator():
        row.title, row.text = text(row.title), text(row.text)
        row.facts = [[text(k), text(v)] for k, v in row.facts or ()]
        row.save(update_fields=["title", "text", "facts"])


class Migration(migrations.Migration):
    dependencies = [
        ("errorlogs", "0001_initial"),
        ("notify", "0004_throttled"),
    ]

    operations = [migrations.RunPython(texts_to_codes, codes_to_texts)]
