#!/usr/bin/env python3
"""Relays a unix socket to another path, so a process in a chroot can reach a socket that
lives outside it (the Swift tests reach BlueZoo's private system bus this way).

Usage: unix_relay.py LISTEN_PATH TARGET_PATH
Prints "ready" once LISTEN_PATH accepts connections; stops on SIGTERM. Bytes only: D-Bus
EXTERNAL authentication still works because the relay runs as the same user as the client.
"""

import asyncio
import os
import signal
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(listen, target):
    async def handle(client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_unix_connection(target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    if os.path.exists(listen):
        os.unlink(listen)
    server = await asyncio.start_unix_server(handle, path=listen)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()
    os.unlink(listen)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
