"""The gateway: a websocket speaking Discord's gateway protocol (v10, JSON), with zlib-stream or zstd-stream
transport compression as the client asks in the query string.

Sessions outlive sockets: every dispatch gets the session's next sequence number and is kept, so a client that
RESUMEs with the last sequence number it saw gets exactly the events it missed, then RESUMED.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .ids import Intents, shard_for
from .records import DispatchRecord, HeartbeatRecord, IdentifyRecord, ResumeRecord, from_json, to_json

if TYPE_CHECKING:
    from .models import FakeGuild

# Close codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes)
UNKNOWN_ERROR, UNKNOWN_OPCODE, DECODE_ERROR, NOT_AUTHENTICATED, AUTHENTICATION_FAILED = 4000, 4001, 4002, 4003, 4004
ALREADY_AUTHENTICATED, INVALID_SEQ, RATE_LIMITED, SESSION_TIMED_OUT, INVALID_SHARD = 4005, 4007, 4008, 4009, 4010
SHARDING_REQUIRED, INVALID_API_VERSION, INVALID_INTENTS, DISALLOWED_INTENTS = 4011, 4012, 4013, 4014


def make_compressor(kind: str | None) -> Callable[[bytes], bytes] | None:
    """One compression context for the life of a connection, flushed after every message as Discord does."""
    if kind is None:
        return None
    if kind == "zlib-stream":
        context = zlib.compressobj()
        return lambda data: context.compress(data) + context.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            try:
                from compression import zstd  # type: ignore[import-not-found]
            except ImportError:
                raise LookupError("zstd-stream needs the zstandard package (or Python 3.14)") from None
            compressor = zstd.ZstdCompressor()
            return lambda data: compressor.compress(data, mode=zstd.ZstdCompressor.FLUSH_BLOCK)
        stream = zstandard.ZstdCompressor().compressobj()
        return lambda data: stream.compress(data) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    raise LookupError(f"unknown transport compression {kind!r}")


@dataclass(eq=False)
class GatewayConnection:
    id: int
    ws: web.WebSocketResponse
    request: web.Request
    path: str
    query: dict[str, str]
    compression: str | None
    compressor: Callable[[bytes], bytes] | None = None
    session: GatewaySession | None = None
    split_frames: bool = False
    received: list[Any] = field(default_factory=list)      # every payload the client sent, decoded
    closed: bool = False
    close_code: int | None = None                           # the code the fake closed with, if it did
    client_close_code: int | None = None                    # the code of the client's close frame, if it sent one
    released: asyncio.Event = field(default_factory=asyncio.Event)   # set once the fake is done with the socket
    opened_at: float = field(default_factory=time.monotonic)
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send_raw(self, text: str) -> bool:
        async with self._send_lock:
            if self.closed or self.ws.closed:
                return False
            try:
                if self.compressor is None:
                    await self.ws.send_str(text)
                else:
                    data = self.compressor(text.encode())
                    if self.split_frames and self.compression == "zlib-stream" and len(data) > 8:
                        # Discord may spread one message over several frames; only the last ends in 00 00 ff ff.
                        middle = len(data) // 2
                        await self.ws.send_bytes(data[:middle])
                        await self.ws.send_bytes(data[middle:])
                    else:
                        await self.ws.send_bytes(data)
            except (ConnectionError, RuntimeError):
                return False
            return True

    async def send(self, op: int, d: Any, *, s: int | None = None, t: str | None = None) -> bool:
        return await self.send_raw(to_json({"op": op, "d": d, "s": s, "t": t}).decode())

    async def close(self, code: int, reason: str = "", timeout: float = 5.0) -> None:
        if self.close_code is None:
            self.close_code = code
        self.released.set()
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), timeout)

    def abort(self) -> None:
        self.close_code = 1006
        transport = self.request.transport
        if transport is not None:
            transport.abort()


@dataclass(eq=False)
class GatewaySession:
    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    identify: dict[str, Any]
    seq: int = 0
    events: list[tuple[int, str, str]] = field(default_factory=list)   # (seq, event name, raw JSON) of every dispatch
    connection: GatewayConnection | None = None
    invalidated: bool = False
    resumes: int = 0
    created: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def connected(self) -> bool:
        return self.connection is not None and not self.connection.closed

    @property
    def shard(self) -> tuple[int, int]:
        return self.shard_id, self.shard_count

    def owns_guild(self, guild_id: int | None) -> bool:
        if guild_id is None:          # DMs go to shard 0
            return self.shard_id == 0
        return shard_for(guild_id, self.shard_count) == self.shard_id

    def __repr__(self) -> str:
        state = "connected" if self.connected else "invalidated" if self.invalidated else "detached"
        return f"<GatewaySession {self.session_id[:8]} shard={list(self.shard)} seq={self.seq} {state}>"


class GatewayMixin:
    """The gateway half of FakeDiscord (the attributes it uses are set in FakeDiscord.__init__)."""

    # --- the websocket ----------------------------------------------------------------------------------------------

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        # The client's close frame is answered here, not by aiohttp, so that what Discord sends meanwhile can be too.
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True, autoclose=False)
        await ws.prepare(request)
        query = dict(request.query)
        conn = GatewayConnection(next(self._connection_ids), ws, request, request.path, query, query.get("compress"),
                                 split_frames=self.split_gateway_frames)
        self.connections.append(conn)
        self._changed()
        try:
            if query.get("v") not in ("9", "10"):
                await conn.close(INVALID_API_VERSION, "Invalid API version.")
                return ws
            if query.get("encoding", "json") != "json":
                await conn.close(DECODE_ERROR, "The fake gateway speaks JSON only.")
                return ws
            try:
                conn.compressor = make_compressor(conn.compression)
            except LookupError as error:
                await conn.close(UNKNOWN_ERROR, str(error))
                return ws
            await conn.send(10, {"heartbeat_interval": self.heartbeat_interval, "_trace": ["[\"fake-gateway\"]"]})
            while not (conn.closed or ws.closed):
                msg = await ws.receive()
                if msg.type is WSMsgType.TEXT:
                    await self._gateway_message(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await conn.close(DECODE_ERROR, "Error while decoding payload.")
                elif msg.type is WSMsgType.CLOSE:
                    await self._on_client_close(conn, msg.data)
                elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        finally:
            conn.closed = True
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
            self._changed()
        return ws

    async def _gateway_message(self, conn: GatewayConnection, text: str) -> None:
        try:
            payload = from_json(text)
            op, d = payload["op"], payload.get("d")
        except (ValueError, KeyError, TypeError):
            await conn.close(DECODE_ERROR, "Error while decoding payload.")
            return
        conn.received.append(payload)
        self.gateway_received.append((conn.id, payload))
        if op == 1:
            await self._on_heartbeat(conn, d)
        elif op == 2:
            await self._on_identify(conn, d or {})
        elif op == 6:
            await self._on_resume(conn, d or {})
        elif conn.session is None:
            await conn.close(NOT_AUTHENTICATED, "Not authenticated.")
        elif op == 3:
            self.presence_updates.append((conn.session.shard_id, d))
        elif op == 8:
            await self._on_request_members(conn, d or {})
        elif op == 4:
            pass   # voice state update: nothing to do without voice
        else:
            await conn.close(UNKNOWN_OPCODE, "Unknown opcode.")
        self._changed()

    async def _on_client_close(self, conn: GatewayConnection, code: int) -> None:
        """The client's close frame has been read. Until then Discord goes on writing events (a test makes some
        with `during_client_close`); then it answers with its own close frame, unless `answer_client_close` is
        False: a gateway that never does, where the client has to give up and drop the connection."""
        conn.client_close_code = code
        self._changed()
        if self.during_client_close is not None:
            await self.during_client_close(conn)
        if self.answer_client_close:
            await conn.close(code)
        else:
            await conn.released.wait()   # until the fake stops: it never answers, whatever the client does

    async def _on_heartbeat(self, conn: GatewayConnection, d: Any) -> None:
        acked = self.ack_heartbeats and await conn.send(11, None)
        session = conn.session
        self.heartbeats.append(HeartbeatRecord(conn.id, session.session_id if session else None,
                                               session.shard_id if session else None, d, bool(acked)))

    async def _on_identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        token_ok = self._token_ok(d.get("token"))
        raw_shard = d.get("shard") or [0, 1]
        try:
            shard = (int(raw_shard[0]), int(raw_shard[1]))
        except (TypeError, ValueError, IndexError):
            shard = (-1, 0)
        intents = d.get("intents")
        refusal: tuple[int, str] | None = None
        if conn.session is not None:
            refusal = ALREADY_AUTHENTICATED, "Already authenticated."
        elif not token_ok:
            refusal = AUTHENTICATION_FAILED, "Authentication failed."
        elif not 0 <= shard[0] < shard[1]:
            refusal = INVALID_SHARD, "Invalid shard."
        elif self.required_shard_count and shard[1] < self.required_shard_count:
            refusal = SHARDING_REQUIRED, "Sharding required."
        elif not isinstance(intents, int) or intents < 0:
            refusal = INVALID_INTENTS, "Invalid intent(s)."
        elif intents & Intents.PRIVILEGED & ~self.privileged_intents:
            refusal = DISALLOWED_INTENTS, "Disallowed intent(s)."
        record = IdentifyRecord(conn.id, conn.path, token_ok, shard, intents, d.get("properties") or {},
                                conn.compression, refusal is None, None, refusal[0] if refusal else None,
                                _without_token(d))
        self.identifies.append(record)
        if refusal is not None:
            await conn.close(*refusal)
            return
        session = GatewaySession(secrets.token_hex(16), shard[0], shard[1], intents, _without_token(d))
        record.session_id = session.session_id
        self.sessions[session.session_id] = session
        async with session.lock:
            conn.session, session.connection = session, conn
            owned = [g for g in self.guilds.values() if session.owns_guild(g.id)]
            await self._dispatch_locked(session, "READY", self._ready_payload(session, owned))
            for guild in owned:
                await self._dispatch_locked(session, "GUILD_CREATE", self._guild_create(guild, session))

    async def _on_resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        token_ok = self._token_ok(d.get("token"))
        session = self.sessions.get(d.get("session_id") or "")
        seq = d.get("seq")
        record = ResumeRecord(conn.id, conn.path, d.get("session_id"), seq, token_ok, False,
                              shard_id=session.shard_id if session else None)
        self.resumes.append(record)
        if not token_ok:
            await conn.close(AUTHENTICATION_FAILED, "Authentication failed.")
            return
        if (session is None or session.invalidated or conn.session is not None or not isinstance(seq, int)
                or seq > session.seq):
            await conn.send(9, False)
            return
        async with session.lock:
            old = session.connection
            conn.session, session.connection = session, conn
            session.resumes += 1
            record.resumed = True
            for number, _event, raw in session.events:
                if number > seq:
                    await conn.send_raw(raw)
                    record.replayed.append(number)
            await self._dispatch_locked(session, "RESUMED", {"_trace": ["[\"fake-gateway\"]"]})
        if old is not None and old is not conn and not old.closed:
            await old.close(UNKNOWN_ERROR, "Session resumed elsewhere.")

    async def _on_request_members(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        guild = self.guilds.get(int(d.get("guild_id") or 0))
        session = conn.session
        if guild is None or session is None:
            return
        wanted = {int(u) for u in d.get("user_ids") or []}
        query = (d.get("query") or "").lower()
        members = [m for m in guild.members.values()
                   if (not wanted or m.id in wanted) and m.user.username.lower().startswith(query)]
        limit = d.get("limit") or 0
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {"guild_id": str(guild.id), "members": [m.payload() for m in members],
                                 "chunk_index": 0, "chunk_count": 1}
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        await self.dispatch_event(session, "GUILD_MEMBERS_CHUNK", chunk)

    # --- payloads ---------------------------------------------------------------------------------------------------

    def _ready_payload(self, session: GatewaySession, guilds: list[FakeGuild]) -> dict[str, Any]:
        return {
            "v": 10, "user_settings": {}, "user": self._me_payload(), "session_type": "normal",
            "session_id": session.session_id, "resume_gateway_url": self.resume_gateway_url,
            "relationships": [], "private_channels": [], "presences": [], "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"], "game_relationships": [], "auth": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "shard": [session.shard_id, session.shard_count], "_trace": ["[\"fake-gateway\"]"],
        }

    def _guild_create(self, guild: FakeGuild, session: GatewaySession) -> dict[str, Any]:
        return guild.create_payload(self.bot_user.id, all_members=bool(session.intents & Intents.GUILD_MEMBERS))

    # --- sending ----------------------------------------------------------------------------------------------------

    async def dispatch_event(self, session: GatewaySession, event: str, data: Any) -> int:
        """Send a DISPATCH (op 0) on `session` with its next sequence number; returns that number. With no live
        socket (between a drop and the RESUME) the event is kept and replayed on RESUME, as Discord does."""
        async with session.lock:
            return await self._dispatch_locked(session, event, data)

    async def _dispatch_locked(self, session: GatewaySession, event: str, data: Any) -> int:
        session.seq += 1
        raw = to_json({"op": 0, "t": event, "s": session.seq, "d": data}).decode()
        session.events.append((session.seq, event, raw))
        delivered = False
        if session.connection is not None:
            delivered = await session.connection.send_raw(raw)
        self.dispatched.append(DispatchRecord(session.session_id, session.shard_id, session.seq, event, delivered))
        self._changed()
        return session.seq

    async def dispatch_to_guild(self, guild_id: int | None, event: str, data: Any) -> int | None:
        """Send an event to the session that owns `guild_id` (None: shard 0, as for DMs); None without one."""
        session = self.session_for_guild(guild_id)
        if session is None:
            return None
        return await self.dispatch_event(session, event, data)

    # --- finding sessions -------------------------------------------------------------------------------------------

    def session_for_guild(self, guild_id: int | None) -> GatewaySession | None:
        """The newest live (not invalidated) session whose shard owns the guild: shard_id == (guild_id >> 22) %
        shard_count. It may be between sockets; events sent to it then wait for the RESUME."""
        owners = [s for s in self.sessions.values() if not s.invalidated and s.owns_guild(guild_id)]
        return max(owners, key=lambda s: s.created, default=None)

    def session_for_shard(self, shard_id: int | None = None) -> GatewaySession | None:
        """The newest live session for `shard_id` (any shard when None)."""
        owners = [s for s in self.sessions.values()
                  if not s.invalidated and (shard_id is None or s.shard_id == shard_id)]
        return max(owners, key=lambda s: s.created, default=None)

    async def wait_for_ready(self, shard_id: int | None = None, *, timeout: float = 5.0) -> GatewaySession:
        """Until a session for the shard has been sent READY and its GUILD_CREATEs (and is connected)."""
        def ready() -> GatewaySession | None:
            session = self.session_for_shard(shard_id)
            if session is None or not session.connected:
                return None
            owned = sum(1 for g in self.guilds.values() if session.owns_guild(g.id))
            sent = [e for _, e, _ in session.events]
            return session if "READY" in sent and sent.count("GUILD_CREATE") >= owned else None
        return await self.wait_until(ready, timeout=timeout, what=f"READY on shard {shard_id}")

    async def wait_for_identify(self, *, count: int = 1, timeout: float = 5.0) -> IdentifyRecord:
        """Until `count` IDENTIFYs have arrived (accepted or not); returns the count-th."""
        return await self.wait_until(lambda: len(self.identifies) >= count and self.identifies[count - 1],
                                     timeout=timeout, what=f"{count} IDENTIFY")

    async def wait_for_resume(self, shard_id: int | None = None, *, after: int = 0,
                              timeout: float = 5.0) -> ResumeRecord:
        """Until a RESUME (for the shard, when given) arrives beyond the first `after` recorded ones, and, if it
        succeeded, RESUMED has been sent."""
        def resumed() -> ResumeRecord | None:
            for record in self.resumes[after:]:
                if shard_id is not None and record.shard_id != shard_id:
                    continue
                session = self.sessions.get(record.session_id or "")
                if not record.resumed or (session is not None and any(e == "RESUMED" for _, e, _ in session.events)):
                    return record
            return None
        return await self.wait_until(resumed, timeout=timeout, what=f"RESUME on shard {shard_id}")

    async def wait_for_heartbeat(self, *, count: int = 1, timeout: float = 5.0) -> HeartbeatRecord:
        return await self.wait_until(lambda: len(self.heartbeats) >= count and self.heartbeats[count - 1],
                                     timeout=timeout, what=f"{count} heartbeats")

    # --- misbehaving on purpose -------------------------------------------------------------------------------------

    async def drop_gateway(self, shard_id: int | None = None, *, code: int = UNKNOWN_ERROR, abrupt: bool = False,
                           timeout: float = 5.0) -> GatewaySession:
        """Close the shard's socket (code 4000 by default, which discord.py answers with a RESUME; abrupt=True
        kills the TCP connection without a close frame). The session stays resumable; events dispatched until
        the client RESUMEs are replayed then."""
        session = self.session_for_shard(shard_id)
        if session is None or session.connection is None:
            raise LookupError(f"no connected gateway session for shard {shard_id}")
        async with session.lock:
            conn, session.connection = session.connection, None
        if abrupt:
            conn.abort()
        else:
            await conn.close(code, "Dropped by the test.", timeout=timeout)
        await self.wait_until(lambda: conn.closed, timeout=timeout, what="the dropped socket to close")
        return session

    async def request_reconnect(self, shard_id: int | None = None) -> GatewaySession:
        """Send op 7 RECONNECT: the client closes and RESUMEs."""
        session = self.session_for_shard(shard_id)
        if session is None or session.connection is None:
            raise LookupError(f"no connected gateway session for shard {shard_id}")
        await session.connection.send(7, None)
        return session

    async def invalidate_session(self, shard_id: int | None = None, *, resumable: bool = False) -> GatewaySession:
        """Send op 9 INVALID_SESSION; unless resumable, the session is gone and the client must IDENTIFY again."""
        session = self.session_for_shard(shard_id)
        if session is None or session.connection is None:
            raise LookupError(f"no connected gateway session for shard {shard_id}")
        if not resumable:
            session.invalidated = True
        await session.connection.send(9, resumable)
        self._changed()
        return session


def _without_token(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "token"}
