"""Closing the gateway without losing what Discord sends during the close handshake.

discord.py ends a gateway connection with aiohttp's ClientWebSocketResponse.close(), which sends our close frame and
then reads until Discord's close frame, throwing away everything else it reads. Discord goes on writing events
until it has read our close frame, so an INTERACTION_CREATE written in that round trip was dropped unread, and its
member saw "The application did not respond" (0 to 20 in each SIGTERM phase of `bench/bench_gateway.py`).

Here, while the bot closes, the close frame is sent and the socket read on, every event going through discord.py's
normal dispatch (a command is then told "restarting", over the HTTP session, which closes after this), until
Discord's close frame ends the connection or CLOSE_TIMEOUT passes without it: a gateway that never answers is then
dropped, as aiohttp drops it after its own (30 s) wait.

discord.py has no hook for this, so the close of each socket open when the bot begins to close is replaced, on that
socket only, for discord.py's own close to call at its usual place (after it has marked the client closed, so that
the end of the connection is not taken for a drop to resume). Reconnects and resumes before that point are
untouched. The internals it relies on are all in this module:
- DiscordWebSocket._keep_alive and _close_code: what DiscordWebSocket.close() itself sets (no heartbeat after the
  close frame; an explicit close with 1000, which discord.py neither resumes nor reconnects);
- who reads the socket meanwhile: for a plain Client, its connect() loop goes on reading until the connection ends
  and then dispatches "disconnect"; for an AutoShardedClient, Shard.close() has just cancelled the shard's reader,
  so the socket is read here with DiscordWebSocket.poll_event(), as that reader did;
- ClientWebSocketResponse._response, whose close() drops the connection (what aiohttp's close does on a timeout).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Iterable

import aiohttp
import discord
from discord.errors import ConnectionClosed
from discord.gateway import DiscordWebSocket, ReconnectWebSocket

log = logging.getLogger("who_handles.discord")

CLOSE_TIMEOUT = 1.0    # seconds to wait for Discord's close frame; it comes within a round trip
NORMAL_CLOSURE = 1000  # the session ends with the connection, as when discord.py closes the client


def read_until_discord_closes(client: discord.Client, sockets: Iterable[DiscordWebSocket | None],
                              timeout: float = CLOSE_TIMEOUT) -> None:
    """From now on, discord.py's close of each of `sockets` (the client's open gateway connections) sends the close
    frame and reads on until Discord's, as described above."""
    sharded = isinstance(client, discord.AutoShardedClient)
    for ws in sockets:
        if ws is not None and not ws.socket.closed:
            ws.close = ReadingClose(client, ws, sharded=sharded, timeout=timeout)  # type: ignore[method-assign]


class ReadingClose:
    """Stands in for DiscordWebSocket.close() on one socket while the client closes."""

    def __init__(self, client: discord.Client, ws: DiscordWebSocket, *, sharded: bool, timeout: float):
        self.client, self.ws, self.sharded, self.timeout = client, ws, sharded, timeout
        self.discord_close: Callable[..., Awaitable[None]] = ws.close
        self.started = False

    async def __call__(self, code: int = 4000) -> None:
        if self.started:
            return   # already closing: a RECONNECT read meanwhile asks again, and the reader then stops anyway
        if code != NORMAL_CLOSURE:
            # Not the client's close (discord.py closes with 4000 to reconnect): discord.py's own, as always.
            await self.discord_close(code=code)
            return
        self.started = True
        ws, socket = self.ws, self.ws.socket
        if socket.closed:
            return
        if ws._keep_alive is not None:
            ws._keep_alive.stop()
            ws._keep_alive = None
        ws._close_code = NORMAL_CLOSURE
        # Whoever reads must be in place before the close frame goes, or Discord's answer could come first: the
        # listener for "disconnect" is registered by this call, and the shard's reading task starts after the
        # cancelled reader has let go of the socket (the loop runs ready callbacks in the order they came).
        reading = asyncio.ensure_future(self._read() if self.sharded else self.client.wait_for("disconnect"))
        try:
            await socket.send_frame(struct.pack("!H", NORMAL_CLOSURE), aiohttp.WSMsgType.CLOSE)
            await asyncio.wait_for(reading, self.timeout)
        except TimeoutError:
            log.warning("the gateway did not answer our close within %.1f s; dropping the connection", self.timeout)
        except Exception as error:   # a connection already cut: nothing more will arrive on it
            log.info("the gateway connection ended while closing: %s", type(error).__name__)
        finally:
            reading.cancel()
            if not socket.closed:
                socket._response.close()

    async def _read(self) -> None:
        """Read and dispatch every event until Discord's close frame ends the connection (the shard's reader did
        this with the same call until Shard.close() cancelled it)."""
        try:
            while True:
                await self.ws.poll_event()
        except (ConnectionClosed, ReconnectWebSocket):
            return
