"""The catalogue check that `make test` runs: complete, current, and able to fail."""

import textwrap

import pytest

from broadcastops import i18n_catalogues


def test_every_catalogue_is_complete_and_matches_its_sources():
    assert i18n_catalogues.problems() == []


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A tiny project: one app with its own catalogue, one module in the root's."""
    (tmp_path / "locale").mkdir()
    app = tmp_path / "shows"
    (app / "locale").mkdir(parents=True)
    (app / "services.py").write_text(
        textwrap.dedent(
            """
            from django.utils.translation import gettext as _, pgettext_lazy
            MESSAGE = _("The show is on air.")
            STATE = pgettext_lazy("show state", "live")
            """
        )
    )
    (app / "tests").mkdir()
    (app / "tests" / "test_x.py").write_text('_("Never extracted: tests are not read.")\n')
    (tmp_path / "views.py").write_text(
        'from django.utils.translation import gettext as _\n_("Home")\n'
    )
    monkeypatch.setattr(i18n_catalogues, "ROOT", tmp_path)
    return tmp_path


def _po(project, root, language="ko"):
    return (project / root / "locale" / language / "LC_MESSAGES" / "django.po").read_text()


def test_extract_puts_each_sentence_in_its_apps_catalogue(project):
    i18n_catalogues.command_extract([])

    shows = _po(project, "shows")
    assert 'msgid "The show is on air."' in shows
    assert 'msgctxt "show state"' in shows
    assert "Home" not in shows
    assert 'msgid "Home"' in _po(project, ".")
    assert "Never extracted" not in shows


def test_check_names_untranslated_and_stale_entries(project):
    i18n_catalogues.command_extract([])
    untranslated = i18n_catalogues.problems()
    assert any("untranslated: 'The show is on air.'" in p for p in untranslated)

    for language in i18n_catalogues.LANGUAGES:
        path = project / "shows" / "locale" / language / "LC_MESSAGES" / "django.po"
        path.write_text(path.read_text().replace('msgstr ""\n\n', 'msgstr "x"\n\n'))
    (project / "shows" / "services.py").write_text(
        'from django.utils.translation import gettext as _\n_("A new sentence.")\n'
    )
    found = i18n_catalogues.problems()

    assert any("not in the catalogue: 'A new sentence.'" in p for p in found)
    assert any("no source uses 'The show is on air.'" in p for p in found)


def test_extract_keeps_translations_when_a_sentence_moves_between_apps(project):
    i18n_catalogues.command_extract([])
    root_po = project / "locale" / "ko" / "LC_MESSAGES" / "django.po"
    root_po.write_text(
        root_po.read_text().replace('msgid "Home"\nmsgstr ""', 'msgid "Home"\nmsgstr "홈"')
    )
    (project / "views.py").write_text("")
    (project / "shows" / "services.py").write_text(
        'from django.utils.translation import gettext as _\n_("Home")\n'
    )

    i18n_catalogues.command_extract([])

    assert 'msgid "Home"\nmsgstr "홈"' in _po(project, "shows")
    assert "Home" not in _po(project, ".")


def test_extract_lists_what_is_left_to_translate(project, capsys):
    i18n_catalogues.command_extract([])
    out = capsys.readouterr().out
    # A singular entry's empty translation is listed (``all("")`` is true: it once was not).
    assert "to translate: 'The show is on air.'" in out
    assert "to translate: 'Home'" in out


def _translate(project, root, msgid, text, language="ko"):
    path = project / root / "locale" / language / "LC_MESSAGES" / "django.po"
    path.write_text(
        path.read_text().replace(f'msgid "{msgid}"\nmsgstr ""', f'msgid "{msgid}"\nmsgstr "{text}"')
    )


@pytest.fixture
def two_apps_saying_status(project):
    """The root and the app both say "Status", each translated in its own catalogue."""
    (project / "views.py").write_text(
        'from django.utils.translation import gettext as _\n_("Status")\n'
    )
    (project / "shows" / "services.py").write_text(
        'from django.utils.translation import gettext as _\n_("Status")\n'
    )
    i18n_catalogues.command_extract([])
    return project


def test_extract_keeps_each_catalogues_own_translation(two_apps_saying_status):
    project = two_apps_saying_status
    _translate(project, ".", "Status", "상태 코드")
    _translate(project, "shows", "Status", "상태")

    i18n_catalogues.command_extract([])

    assert 'msgid "Status"\nmsgstr "상태"' in _po(project, "shows")
    assert 'msgid "Status"\nmsgstr "상태 코드"' in _po(project, ".")


def test_check_refuses_one_sentence_translated_two_ways(two_apps_saying_status):
    project = two_apps_saying_status
    _translate(project, ".", "Status", "상태 코드")
    _translate(project, "shows", "Status", "상태")

    found = i18n_catalogues.problems()

    assert any("'Status' is translated" in p and "pgettext" in p for p in found), found
    shows = project / "shows" / "locale" / "ko" / "LC_MESSAGES" / "django.po"
    shows.write_text(shows.read_text().replace('msgstr "상태"', 'msgstr "상태 코드"'))
    assert not any("'Status' is translated" in p for p in i18n_catalogues.problems())
