"""The translation catalogues: extract, check and compile them with Babel (no GNU gettext).

    python -m broadcastops.i18n_catalogues extract   # after changing operator-facing text
    python -m broadcastops.i18n_catalogues check     # run by `make test`
    python -m broadcastops.i18n_catalogues compile   # run by `make messages`

Every app that has a ``locale/`` folder keeps its own catalogue (``scheduling/locale/ko/...``);
everything else (the project package's own modules and ``templates/``) belongs to the root
``locale/``. A source file belongs to the nearest folder above it that has ``locale/``, so two
people adding text to two apps never touch the same catalogue. Django merges every catalogue
at run time, so where a sentence is kept only decides who edits it.

``extract`` rebuilds each catalogue from the sources, keeping every translation already made
(the catalogue's own first, then any other's: a sentence that moves between apps keeps its
translation) and dropping sentences no source uses any more. ``check`` fails on an
untranslated or fuzzy entry, on a catalogue that does not match its sources (a sentence added
without ``extract``), and on one sentence translated two ways in one language: Django merges
the catalogues into one, so only one of the two would ever show (give each its own
``pgettext`` context instead).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["ko", "zh_Hant"]
SKIP_DIRS = {
    ".venv",
    ".git",
    "data",
    "node_modules",
    "tests",
    "migrations",
    "benchmarks",
    "simulator",
    "__pycache__",
}
_FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)

_PY_KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
_JS_KEYWORDS = {
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}


def catalogue_roots() -> list[Path]:
    """The folders with a ``locale/`` of their own, deepest first; the project root last."""
    roots = {ROOT}
    for dirpath, dirnames, _files in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        if "locale" in dirnames:
            roots.add(Path(dirpath))
            dirnames.remove("locale")
    return sorted(roots, key=lambda p: -len(p.parts))


def _sources() -> Iterator[tuple[Path, str]]:
    """(file, domain) for every file whose text an operator may read."""
    for dirpath, dirnames, files in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and d != "locale")
        path = Path(dirpath)
        parts = set(path.relative_to(ROOT).parts)
        for name in sorted(files):
            file = path / name
            python = name.endswith(".py") and name not in {"conftest.py", "testing.py"}
            if python or ("templates" in parts and name.endswith((".html", ".txt"))):
                yield file, "django"
            elif "static" in parts and name.endswith(".js"):
                yield file, "djangojs"


def _template_as_python(text: str, origin: str) -> str:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=True)
        django.setup()
    from django.utils.translation.template import templatize

    # Babel's Python tokenizer refuses the indentation templatize keeps; line numbers stay.
    return "\n".join(line.lstrip() for line in templatize(text, origin).splitlines())


def _messages(file: Path, domain: str) -> Iterator[tuple[int, str | tuple[str, ...], str | None]]:
    text = file.read_text(encoding="utf-8")
    if domain == "djangojs":
        method, keywords = "javascript", _JS_KEYWORDS
    else:
        method, keywords = "python", _PY_KEYWORDS
        if file.suffix != ".py":
            text = _template_as_python(text, str(file))
    for lineno, message, _comments, context in extract(
        method, io.BytesIO(text.encode("utf-8")), keywords=keywords, comment_tags=()
    ):
        yield lineno, message, context


def _root_of(file: Path, roots: list[Path]) -> Path:
    for root in roots:
        if root == ROOT or root in file.parents:
            return root
    return ROOT


def templates() -> dict[tuple[Path, str], Catalog]:
    """What the sources say, as one template catalogue per (root, domain)."""
    roots = catalogue_roots()
    result: dict[tuple[Path, str], Catalog] = {
        (root, domain): Catalog(domain=domain)
        for root in roots
        for domain in ("django", "djangojs")
    }
    for file, domain in _sources():
        catalog = result[(_root_of(file, roots), domain)]
        for lineno, message, context in _messages(file, domain):
            catalog.add(message, None, [(str(file.relative_to(ROOT)), lineno)], context=context)
    return result


def _po_path(root: Path, language: str, domain: str) -> Path:
    return root / "locale" / language / "LC_MESSAGES" / f"{domain}.po"


def _key(message: Message) -> tuple[str, str | None]:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return msgid, message.context


def _translated(file: Path, language: str) -> dict[tuple[str, str | None], Message]:
    """The entries of one catalogue file that carry a translation."""
    if not file.exists():
        return {}
    with file.open("rb") as handle:
        return {
            _key(message): message
            for message in read_po(handle, locale=language)
            if message.id and message.string and any(message.string)
        }


def _catalogue_files(language: str) -> list[Path]:
    files = ROOT.glob(f"**/locale/{language}/LC_MESSAGES/*.po")
    return sorted(file for file in files if ".venv" not in file.relative_to(ROOT).parts)


def _known(language: str, extra: list[Path]) -> dict[tuple[str, str | None], Message]:
    """Every translation made so far in ``language``, whichever catalogue holds it."""
    known: dict[tuple[str, str | None], Message] = {}
    for file in [*_catalogue_files(language), *extra]:
        for key, message in _translated(file, language).items():
            known.setdefault(key, message)
    return known


def _catalog_for(language: str, template: Catalog, known: dict[Any, Message]) -> Catalog:
    catalog = Catalog(
        locale=language,
        domain=template.domain,
        project="BroadcastOps",
        version="1",
        creation_date=_FIXED_DATE,
        revision_date=_FIXED_DATE,
        fuzzy=False,
    )
    for message in template:
        if not message.id:
            continue
        made = known.get(_key(message))
        string = made.string if made else ("" if isinstance(message.id, str) else ("",))
        flags = {"fuzzy"} if made and made.fuzzy else set()
        catalog.add(message.id, string, context=message.context, flags=flags)
    return catalog


def _untranslated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return not all(strings)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # No locations and sorted entries: a catalogue changes only where its sentences do.
    write_po(buffer, catalog, sort_output=True, no_location=True, omit_header=False, width=100)
    path.write_bytes(buffer.getvalue())


def command_extract(extra: list[Path]) -> int:
    """Rebuild every catalogue from the sources; print what is left to translate."""
    built = templates()
    untranslated = 0
    for language in LANGUAGES:
        known = _known(language, extra)
        for (root, domain), template in built.items():
            path = _po_path(root, language, domain)
            if not len(template) and not path.exists():
                continue
            catalog = _catalog_for(language, template, {**known, **_translated(path, language)})
            _write(path, catalog)
            for message in catalog:
                if message.id and (message.fuzzy or _untranslated(message)):
                    untranslated += 1
                    print(f"{path.relative_to(ROOT)}: to translate: {_key(message)[0]!r}")
    print(f"{untranslated} entries to translate.")
    return 0


def problems() -> list[str]:
    """Why the catalogues are not complete and current; empty when they are."""
    found: list[str] = []
    built = templates()
    for language in LANGUAGES:
        for (root, domain), template in built.items():
            path = _po_path(root, language, domain)
            where = str(path.relative_to(ROOT))
            if not path.exists():
                if len(template):
                    found.append(f"{where}: missing (run `make messages-extract`)")
                continue
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            have = {_key(m): m for m in catalog if m.id}
            want = {_key(m) for m in template if m.id}
            for key in sorted(want - have.keys(), key=str):
                found.append(f"{where}: not in the catalogue: {key[0]!r} (run extract)")
            for key in sorted(have.keys() - want, key=str):
                found.append(f"{where}: no source uses {key[0]!r} any more (run extract)")
            for key, message in have.items():
                if message.fuzzy:
                    found.append(f"{where}: fuzzy: {key[0]!r}")
                elif _untranslated(message):
                    found.append(f"{where}: untranslated: {key[0]!r}")
        found.extend(_translated_two_ways(language))
    return found


def _translated_two_ways(language: str) -> list[str]:
    """Sentences that two catalogues of ``language`` translate differently."""
    first: dict[tuple[tuple[str, str | None], str], tuple[Path, Any]] = {}
    found: list[str] = []
    for file in _catalogue_files(language):
        for key, message in _translated(file, language).items():
            seen = first.setdefault((key, file.name), (file, message.string))
            if seen[1] != message.string:
                found.append(
                    f"{file.relative_to(ROOT)}: {key[0]!r} is translated {message.string!r} "
                    f"here and {seen[1]!r} in {seen[0].relative_to(ROOT)}; Django shows only "
                    "one: give each a pgettext context"
                )
    return found


def command_check() -> int:
    found = problems()
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} catalogue problems.", file=sys.stderr)
        return 1
    return 0


def command_compile() -> int:
    for file in ROOT.glob("**/locale/*/LC_MESSAGES/*.po"):
        if ".venv" in file.parts:
            continue
        language = file.parent.parent.name
        with file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        with file.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=True)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"extract", "check", "compile"}:
        print(__doc__)
        return 2
    if argv[0] == "extract":
        return command_extract([Path(p).resolve() for p in argv[1:]])
    return {"check": command_check, "compile": command_compile}[argv[0]]()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
