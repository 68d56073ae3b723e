"""What the fake saw: one record per REST call, interaction callback, gateway IDENTIFY, RESUME and heartbeat."""

from __future__ import annotations

import fnmatch
import json
import pickle
import time
from dataclasses import dataclass, field
from typing import Any

try:   # the bot depends on orjson; without it the fake works the same, only slower
    import orjson
except ImportError:  # pragma: no cover
    orjson = None
else:
    # Only plain JSON types go through orjson in clone(); anything else (a dataclass, a datetime, a dict subclass)
    # raises TypeError there and is copied by pickle instead.
    _PLAIN_JSON_ONLY = (orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
                        | orjson.OPT_PASSTHROUGH_SUBCLASS)


def to_json(data: Any) -> bytes:
    """JSON as Discord sends it: compact UTF-8. With orjson it costs a tenth of json.dumps, which was the largest
    item of the fake's own CPU time under benchmark load."""
    if orjson is not None:
        try:
            return orjson.dumps(data)
        except TypeError:   # what orjson refuses and json accepts (int keys, huge ints): fall back
            pass
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def from_json(raw: bytes | str) -> Any:
    """Parse JSON; raises ValueError for anything that is not JSON."""
    if orjson is not None:
        try:
            return orjson.loads(raw)
        except ValueError:   # orjson is stricter (NaN, integers past 64 bits): let json decide
            pass
    return json.loads(raw)


def clone(data: Any) -> Any:
    """A deep copy of JSON-like data. A JSON round trip through orjson is about twice as fast as one through
    pickle, and both are several times faster than copy.deepcopy, which otherwise dominates the fake's own CPU time
    under benchmark load. Tuples come back as lists, as they would from Discord; anything that is not plain JSON
    (a non-str key, a dataclass, ...) is copied by pickle, exactly."""
    if orjson is not None:
        try:
            return orjson.loads(orjson.dumps(data, option=_PLAIN_JSON_ONLY))
        except (TypeError, ValueError):
            pass
    return pickle.loads(pickle.dumps(data, pickle.HIGHEST_PROTOCOL))


def path_matches(path: str, pattern: str) -> bool:
    """`pattern` is an exact path, a glob (`/interactions/*/callback`) or a route template with `{names}`."""
    if "{" in pattern:
        parts = pattern.split("/")
        pattern = "/".join("*" if p.startswith("{") and p.endswith("}") else p for p in parts)
    return fnmatch.fnmatchcase(path, pattern)


@dataclass(eq=False)
class RecordedRequest:
    method: str
    path: str                      # below the API base, e.g. /channels/1/messages/pins/2
    route: str | None              # the matching route template, e.g. /channels/{channel_id}/messages/pins/{message_id}
    query: dict[str, str]
    json: Any                      # the JSON body (payload_json for multipart), None without one
    headers: dict[str, str]        # every request header except Authorization
    bot_auth: bool                 # Authorization was exactly "Bot <the fake's token>"
    audit_log_reason: str | None   # X-Audit-Log-Reason, URL-decoded as Discord does
    files: list[dict[str, Any]] = field(default_factory=list)   # multipart file parts: name, filename, size
    status: int | None = None      # what the fake answered
    response: Any = None           # the JSON it answered with
    at: float = field(default_factory=time.monotonic)

    def matches(self, method: str | None = None, path: str | None = None) -> bool:
        return (method is None or method.upper() == self.method) and (path is None or path_matches(self.path, path))

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} -> {self.status}>"


@dataclass(eq=False)
class CallbackRecord:
    """An accepted POST /interactions/{id}/{token}/callback."""

    interaction_id: int
    type: int                      # 1 pong, 4 message, 5 deferred, 6 deferred update, 7 update, 8 choices, 9 modal
    data: dict[str, Any]           # the body's `data` ({} when absent)
    body: dict[str, Any]
    with_response: bool
    message_id: int | None         # the message the callback created or updated, if any
    files: list[dict[str, Any]] = field(default_factory=list)
    at: float = field(default_factory=time.monotonic)

    @property
    def content(self) -> str | None:
        return self.data.get("content")

    @property
    def ephemeral(self) -> bool:
        return bool((self.data.get("flags") or 0) & 64)


@dataclass(eq=False)
class IdentifyRecord:
    connection_id: int
    path: str
    token_ok: bool
    shard: tuple[int, int]
    intents: int | None
    properties: dict[str, Any]
    transport_compression: str | None
    accepted: bool
    session_id: str | None
    close_code: int | None         # when the fake refused the IDENTIFY by closing the socket
    payload: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class ResumeRecord:
    connection_id: int
    path: str
    session_id: str | None
    seq: int | None
    token_ok: bool
    resumed: bool                  # False: answered INVALID_SESSION (or closed for a bad token)
    replayed: list[int] = field(default_factory=list)   # sequence numbers of the missed events sent again
    shard_id: int | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class HeartbeatRecord:
    connection_id: int
    session_id: str | None
    shard_id: int | None
    seq: int | None                # the `d` of the heartbeat: the last sequence number the client saw
    acked: bool
    at: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class DispatchRecord:
    session_id: str
    shard_id: int
    seq: int
    event: str
    delivered: bool                # written to a live socket now (False: buffered for a RESUME)
    at: float = field(default_factory=time.monotonic)
