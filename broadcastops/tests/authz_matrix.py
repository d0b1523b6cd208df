"""The authorisation matrix: every URL, admin action and socket, generated from the project.

The cells are not listed by hand. ``url_cells`` walks ``get_resolver()`` (every URL pattern
and the methods its view answers), ``admin_action_cells`` the registered model admins'
actions, ``socket_cells`` the WebSocket routes; the tables that say who may use each come from
every app's ``<app>/tests/authz.py`` (``tables``). A pattern, action or socket no table names
is reported as missing, so an endpoint added later fails the matrix until its row is written.

Each cell is tried with real authentication (an API token under ``/api/``, the session
cookie elsewhere and on sockets) for five identities; a refusal is 401, 403 or a redirect to
the admin's login page (a socket: not accepted), anything else but a 500 counts as allowed.
"""

import re
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType

from django.apps import apps
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver

from broadcastops.tests.authz_levels import Who

# Values for URL parameters: nothing they name exists, so an allowed call does no work (a
# 404 or a 400) and nothing reaches a cloud. Admin object URLs get a real row (SAMPLES).
URL_ARGS = {
    "key": "authz-missing",
    "pk": "999999",
    "upload_id": "00000000-0000-4000-8000-000000000000",
    "camera_id": "cam-authz",
    "content_type_id": "1",
    "object_id": "999999",
    "app_label": "streaming",
    "url": "authz-nope/",
    "rest": "v1/authz-nope/",
    "id": "999999",
    # The schedules' calendar feeds: a secret URL per user (a wrong one is a 404).
    "user_id": "999999",
    "token": "authz-wrong-key",
    "channel": "authz-missing",
    # The IVS shows, by name.
    "name": "authz-missing",
}
_OTHER_METHODS = ("get", "post", "put", "patch", "delete")
# What each admin view of a model asks of the user's role, by method. Django's own views,
# tried with the methods they tell apart: a changelist's POST runs an action (the action
# cells try those), a history and the object URL's redirect answer POST as they answer GET.
_ADMIN_VIEWS = {
    "changelist": {"GET": "view"},
    "add": {"GET": "add", "POST": "add"},
    "change": {"GET": "view", "POST": "change"},
    "delete": {"GET": "delete", "POST": "delete"},
    "history": {"GET": "view"},
    "password_change": {"GET": "change", "POST": "change"},
    "object_redirect": {"GET": "staff"},
}


@dataclass
class Tables:
    """Every app's rows, merged; each row belongs to exactly one app (``owners``)."""

    routes: dict = field(default_factory=dict)
    admin_models: dict = field(default_factory=dict)
    admin_actions: dict = field(default_factory=dict)
    sockets: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)
    owners: dict = field(default_factory=dict)
    duplicates: list = field(default_factory=list)


def table_modules() -> list[tuple[str, ModuleType]]:
    """(app, module) for every installed app with a ``tests/authz.py``."""
    found = []
    for config in apps.get_app_configs():
        try:
            found.append((config.label, import_module(f"{config.name}.tests.authz")))
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith(config.name):
                raise
    found.append(("project", import_module("broadcastops.tests.authz")))
    return found


def tables() -> Tables:
    merged = Tables()
    for app, module in table_modules():
        for kind in ("routes", "admin_models", "admin_actions", "sockets", "samples"):
            for key, value in getattr(module, kind.upper(), {}).items():
                target = getattr(merged, kind)
                if key in target:
                    merged.duplicates.append(f"{kind} {key!r}: {merged.owners[kind, key]}, {app}")
                target[key] = value
                merged.owners[kind, key] = app
    return merged


# --- URLs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrlCell:
    route: str  # the pattern as Django shows it, prefixes joined
    name: str  # "namespace:name", or "" for a pattern without a name
    methods: tuple[str, ...]
    view: object
    model_admin: object | None
    admin_view: str  # changelist, add, change, ... for a model admin's own views

    @property
    def key(self) -> str:
        return self.name or self.route

    def path(self, **overrides: str) -> str:
        values = {**URL_ARGS, **overrides}
        text = re.sub(r"\(\?P<(\w+)>[^()]*\)", lambda m: values[m[1]], self.route)
        text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m[1]], text)
        return "/" + text.replace("^", "").replace("$", "").replace("\\.", ".")


def _methods(view) -> tuple[str, ...]:
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if cls is None:
        return ("GET", "POST")  # a function view: whatever it is sent, it answers
    return tuple(m.upper() for m in _OTHER_METHODS if hasattr(cls, m))


def _model_admin(view):
    found = getattr(view, "model_admin", None)
    if found is None:
        bound = getattr(view, "__wrapped__", None)
        found = getattr(bound, "__self__", None)
    return found if isinstance(found, admin.ModelAdmin) else None


def url_cells() -> list[UrlCell]:
    cells = []

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                model_admin = _model_admin(pattern.callback)
                admin_view = ""
                methods = _methods(pattern.callback)
                if model_admin is not None:
                    opts = model_admin.model._meta
                    stem = f"{opts.app_label}_{opts.model_name}_"
                    admin_view = (pattern.name or "object_redirect").removeprefix(stem)
                    methods = tuple(_ADMIN_VIEWS.get(admin_view, {}).keys()) or methods
                cells.append(
                    UrlCell(
                        route=prefix + str(pattern.pattern),
                        name=f"{namespace}{pattern.name}" if pattern.name else "",
                        methods=methods,
                        view=pattern.callback,
                        model_admin=model_admin,
                        admin_view=admin_view,
                    )
                )

    walk(get_resolver(), "", "")
    return cells


def model_label(model_admin) -> str:
    return model_admin.model._meta.label_lower


def expected_for_url(cell: UrlCell, method: str, found: Tables) -> Who | str:
    """Who may call ``method`` on ``cell``, or why the tables cannot say."""
    if cell.model_admin is not None and cell.admin_view in _ADMIN_VIEWS:
        label = model_label(cell.model_admin)
        row = found.admin_models.get(label)
        if row is None:
            return f"no ADMIN_MODELS row for {label}"
        needs = _ADMIN_VIEWS[cell.admin_view][method]
        # The object URL's redirect to its change page: anyone with the console gets it.
        return Who.VIEWER if needs == "staff" else row[needs]
    row = found.routes.get(cell.key)
    if row is None and cell.name:
        row = found.routes.get(cell.route)
    if row is None:
        return f"no ROUTES row for {cell.key!r} (in {owner_of(cell.view)}/tests/authz.py)"
    if isinstance(row, Who):
        return row
    if method not in row:
        return f"ROUTES[{cell.key!r}] says nothing of {method}"
    return row[method]


# --- the admin's actions ---------------------------------------------------------------------


@dataclass(frozen=True)
class ActionCell:
    label: str
    name: str
    permissions: tuple[str, ...]
    changelist: str

    @property
    def key(self) -> str:
        return f"{self.label}.{self.name}"


def admin_action_cells() -> list[ActionCell]:
    cells = []
    for model, model_admin in admin.site._registry.items():
        if model_admin.actions is None:
            continue  # "no actions", not even the site's (DRF's TokenAdmin)
        opts = model._meta
        for func, name, _description in model_admin._get_base_actions():
            cells.append(
                ActionCell(
                    label=opts.label_lower,
                    name=name,
                    permissions=tuple(getattr(func, "allowed_permissions", ())),
                    changelist=f"/admin/{opts.app_label}/{opts.model_name}/",
                )
            )
    return cells


def expected_for_action(cell: ActionCell, found: Tables) -> Who | str:
    if cell.key in found.admin_actions:
        return found.admin_actions[cell.key]
    if cell.name == "delete_selected" and cell.label in found.admin_models:
        return found.admin_models[cell.label]["delete"]  # Django's own: the delete permission
    return f"no ADMIN_ACTIONS row for {cell.key!r}"


def offered_actions(html: str) -> set[str]:
    """The actions the changelist offers (Django runs no other: it checks the same list)."""
    select = re.search(r'<select name="action"[^>]*>(.*?)</select>', html, re.S)
    return set(re.findall(r'<option value="([^"]+)"', select[1])) if select else set()


# --- sockets ---------------------------------------------------------------------------------


def socket_cells() -> list[str]:
    from broadcastops.routing import websocket_urlpatterns

    return [str(pattern.pattern) for pattern in websocket_urlpatterns]


def socket_path(route: str) -> str:
    return UrlCell(route, "", (), None, None, "").path()


# --- answers ---------------------------------------------------------------------------------


def refused(status: int, location: str = "") -> bool:
    return status in (401, 403) or (status == 302 and "/admin/login/" in location)


def owner_of(view) -> str:
    """The folder of the app whose code a view is (where its table lives)."""
    module = getattr(view, "__module__", "") or ""
    config = apps.get_containing_app_config(module)
    if config is None or config.name.startswith("django"):
        return "broadcastops"
    return config.name.replace(".", "/")
