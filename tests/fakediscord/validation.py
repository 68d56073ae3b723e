"""The limits Discord enforces on what a bot sends, answered the way Discord answers: 400 with code 50035
"Invalid Form Body" and an `errors` tree keyed by the path of the bad field.

Only the limits a bot commonly runs into are checked (message length, embed sizes, components, autocomplete
choices, command definitions); anything not checked is accepted.
"""

from __future__ import annotations

import re
from typing import Any

EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15

_COMMAND_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")


class ApiError(Exception):
    """An error answer: HTTP status plus Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


class FormErrors:
    def __init__(self, prefix: tuple[str, ...] = ()) -> None:
        self.prefix = prefix
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[Any, ...], code: str, message: str) -> None:
        node = self.tree
        for part in (*self.prefix, *path):
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: tuple[Any, ...], value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: tuple[Any, ...], value: Any, low: int, high: int) -> None:
        if not isinstance(value, str) or not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


def _url_ok(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "attachment://"))


def check_message(body: dict[str, Any], *, creating: bool, prefix: tuple[str, ...] = ()) -> None:
    """Raise ApiError for a message create/edit body Discord would refuse."""
    errors = FormErrors(prefix)
    content = body.get("content")
    errors.max_length(("content",), content, 2000)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        errors.add(("embeds",), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        path: tuple[Any, ...] = ("embeds", i)
        errors.max_length((*path, "title"), embed.get("title"), 256)
        errors.max_length((*path, "description"), embed.get("description"), 4096)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors.add((*path, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, fld in enumerate(fields):
            errors.length_between((*path, "fields", j, "name"), fld.get("name"), 1, 256)
            errors.length_between((*path, "fields", j, "value"), fld.get("value"), 1, 1024)
            total += len(fld.get("name") or "") + len(fld.get("value") or "")
        footer = embed.get("footer") or {}
        author = embed.get("author") or {}
        errors.max_length((*path, "footer", "text"), footer.get("text"), 2048)
        errors.max_length((*path, "author", "name"), author.get("name"), 256)
        for key, value in (("url", embed.get("url")), ("author.url", author.get("url")),
                           ("thumbnail.url", (embed.get("thumbnail") or {}).get("url")),
                           ("image.url", (embed.get("image") or {}).get("url"))):
            if value is not None and not _url_ok(value):
                errors.add((*path, *key.split(".")), "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        total += sum(len(x or "") for x in (embed.get("title"), embed.get("description"), footer.get("text"),
                                              author.get("name")))
    if total > 6000:
        errors.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    components = body.get("components") or []
    if not (body.get("flags") or 0) & IS_COMPONENTS_V2:
        _check_action_rows(errors, components)
    if creating and not any(body.get(k) for k in ("content", "embeds", "components", "attachments", "sticker_ids",
                                                   "poll", "files")):
        raise ApiError(400, 50006, "Cannot send an empty message")
    errors.raise_if_any()


def _check_action_rows(errors: FormErrors, rows: list[dict[str, Any]]) -> None:
    if len(rows) > 5:
        errors.add(("components",), "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        path: tuple[Any, ...] = ("components", i)
        if row.get("type") != 1:
            errors.add((*path, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
            continue
        children = row.get("components") or []
        selects = [c for c in children if c.get("type") in (3, 5, 6, 7, 8)]
        if not children or len(children) > 5 or (selects and len(children) > 1):
            errors.add((*path, "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        for j, child in enumerate(children):
            cpath = (*path, "components", j)
            custom_id = child.get("custom_id")
            if child.get("type") == 2:
                errors.max_length((*cpath, "label"), child.get("label"), 80)
                if child.get("style") == 5:
                    if not _url_ok(child.get("url")):
                        errors.add((*cpath, "url"), "URL_TYPE_INVALID_URL", "Not a well formed URL.")
                    continue
                if child.get("style") == 6:
                    continue
            if custom_id is None:
                errors.add((*cpath, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
                continue
            errors.length_between((*cpath, "custom_id"), custom_id, 1, 100)
            if custom_id in seen:
                errors.add((*cpath, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED",
                           "Component custom id cannot be duplicated")
            seen.add(custom_id)
            if child.get("type") == 3:
                options = child.get("options") or []
                if not 1 <= len(options) <= 25:
                    errors.add((*cpath, "options"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.")
                for k, option in enumerate(options):
                    errors.length_between((*cpath, "options", k, "label"), option.get("label"), 1, 100)
                    errors.length_between((*cpath, "options", k, "value"), option.get("value"), 1, 100)
                    errors.max_length((*cpath, "options", k, "description"), option.get("description"), 100)
                errors.max_length((*cpath, "placeholder"), child.get("placeholder"), 150)


def check_autocomplete(data: dict[str, Any]) -> None:
    errors = FormErrors(("data",))
    choices = data.get("choices")
    if not isinstance(choices, list):
        errors.add(("choices",), "BASE_TYPE_REQUIRED", "This field is required")
    else:
        if len(choices) > 25:
            errors.add(("choices",), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for i, choice in enumerate(choices):
            errors.length_between(("choices", i, "name"), choice.get("name"), 1, 100)
            if isinstance(choice.get("value"), str):
                errors.max_length(("choices", i, "value"), choice.get("value"), 100)
    errors.raise_if_any()


def check_commands(commands: Any) -> None:
    """Raise ApiError for a bulk-overwrite body Discord would refuse."""
    if not isinstance(commands, list):
        raise ApiError(400, 50035, "Invalid Form Body",
                       {"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Must be an array."}]})
    errors = FormErrors()
    counts = {1: 0, 2: 0, 3: 0, 4: 0}
    names: set[tuple[int, str]] = set()
    for i, command in enumerate(commands):
        kind = command.get("type", 1)
        counts[kind] = counts.get(kind, 0) + 1
        name = command.get("name")
        if (kind, name) in names:
            errors.add((i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Application command names must be "
                       f"unique; '{name}' is used twice")
        names.add((kind, name))
        if kind == 1:
            _check_option_like(errors, (i,), command)
        else:
            errors.length_between((i, "name"), name, 1, 32)
            if command.get("description"):
                errors.add((i, "description"), "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                           "Context menu commands cannot have description")
    if counts[1] > 100:
        errors.add((), "APPLICATION_COMMAND_TOO_MANY", "Maximum number of application commands reached (100)")
    for kind in (2, 3):
        if counts[kind] > 15:
            errors.add((), "APPLICATION_COMMAND_TOO_MANY", "Maximum number of context menu commands reached (15)")
    errors.raise_if_any()


def _check_option_like(errors: FormErrors, path: tuple[Any, ...], item: dict[str, Any]) -> None:
    name = item.get("name")
    if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
        errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    errors.length_between((*path, "description"), item.get("description"), 1, 100)
    options = item.get("options") or []
    if len(options) > 25:
        errors.add((*path, "options"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    optional_seen = False
    option_names: set[str] = set()
    for j, option in enumerate(options):
        opath = (*path, "options", j)
        _check_option_like(errors, opath, option)
        if option.get("name") in option_names:
            errors.add((*opath, "name"), "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS", "Option name already "
                       "exists")
        option_names.add(option.get("name"))
        if option.get("type") not in (1, 2):
            if option.get("required"):
                if optional_seen:
                    errors.add((*opath, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                               "Required options must be placed before non-required options")
            else:
                optional_seen = True
        choices = option.get("choices") or []
        if len(choices) > 25:
            errors.add((*opath, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if choices and option.get("autocomplete"):
            errors.add((*opath, "autocomplete"), "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES", "Autocomplete cannot "
                       "be set with choices")
        for k, choice in enumerate(choices):
            errors.length_between((*opath, "choices", k, "name"), choice.get("name"), 1, 100)
            if isinstance(choice.get("value"), str):
                errors.max_length((*opath, "choices", k, "value"), choice.get("value"), 100)
