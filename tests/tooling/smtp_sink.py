"""SMTP sink for tests: accepts every message on 127.0.0.1 and writes it to a folder.

Each message becomes DIR/NNNNNN.eml (a counter, in arrival order) holding the raw message as
received. A file is written under a dot-name and then renamed, so a reader never sees half a
message. Started by start_smtp_sink in scripts/lib/tools.sh:

    python3 tests/tooling/smtp_sink.py --port 2525 --dir /tmp/mail
"""

import argparse
import asyncio
import itertools
import os
import signal

from aiosmtpd.controller import Controller


class FolderHandler:
    """aiosmtpd handler that stores each accepted message as one .eml file."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        number = next(self.counter)
        name = f"{number:06d}.eml"
        partial = os.path.join(self.folder, f".{name}.part")
        header = (
            f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
            f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        with open(partial, "wb") as out:
            out.write(header)
            out.write(envelope.original_content or envelope.content)
        os.rename(partial, os.path.join(self.folder, name))
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    controller = Controller(FolderHandler(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"smtp sink listening on 127.0.0.1:{args.port}, writing to {args.dir}", flush=True)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()
        loop.close()


if __name__ == "__main__":
    main()
