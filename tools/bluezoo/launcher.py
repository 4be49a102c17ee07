#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Test support only: this script imports BlueZoo (GPL-2.0) and is never linked into, shipped
# with or imported by the product. It runs as a separate process beside the tests.
"""Starts a private system D-Bus daemon and BlueZoo (a user-space mock of org.bluez) on it.

One adapter is created for the phone and one per lock. On stdout it prints, one per line and
then flushes:

    DBUS_SYSTEM_BUS_ADDRESS=unix:path=/tmp/bluezoo-XXXX/system_bus_socket
    PHONE_ADAPTER=C0:FF:EE:00:00:00
    LOCK_ADAPTERS=C0:FF:EE:00:01:01 C0:FF:EE:00:01:02
    BLUEZOO_READY

and then runs until SIGTERM/SIGINT, when it stops BlueZoo and the bus daemon and removes its
temp dir.

BlueZoo 1.0.2 is patched at run time (monkeypatching, nothing is edited on disk) so that it
behaves like BlueZ where tests need it:

1. Disconnect removes the GATT link objects it exported on connect and resets
   ServicesResolved, so a second Connect() to the same device works (BlueZoo alone fails it
   with sd_bus_add_object_vtable error 17, EEXIST). Notification subscriptions of the old link
   are stopped on the peripheral side, so the peripheral sees the link go away.
2. A disconnect on either side is seen on the other side (BlueZoo alone only flips Connected
   on the side that asked), as a real link loss would be.
3. Connect() to a device whose adapter no longer advertises fails with
   org.bluez.Error.Failed "le-connection-abort-by-local", as BlueZ does when the peer is out
   of range.
4. While an adapter is discovering, devices that stopped advertising and are not connected are
   removed on the next scan tick (BlueZ drops such temporary devices after a timeout), so a
   vanished peripheral does not stay listed with its old advertising data.

Usage: launcher.py --locks N [--phone ADDR] [--lock ADDR ...] [--socket PATH] [-v]
"""

import argparse
import asyncio
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PHONE = "C0:FF:EE:00:00:00"


def lock_address(index: int) -> str:
    """Address of the lock adapter number `index` (1-based)."""
    return f"C0:FF:EE:00:{index // 256:02X}:{index % 256:02X}"


def die_with_parent():
    """Asks Linux to send SIGTERM when the process that started us dies (tests that crash)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_bus(workdir: str, socket: str | None) -> tuple[subprocess.Popen, str]:
    """Starts dbus-daemon with the config from this folder; returns it and its address."""
    if socket is None:
        socket = os.path.join(workdir, "system_bus_socket")
    elif os.path.exists(socket):
        os.unlink(socket)  # left by an earlier run; dbus-daemon will not replace it
    with open(os.path.join(HERE, "bus.conf.in"), encoding="utf-8") as f:
        config = f.read().replace("@SOCKET@", socket)
    config_path = os.path.join(workdir, "bus.conf")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(config)
    daemon = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config_path}", "--nofork", "--print-address"],
        stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
    address = daemon.stdout.readline().strip()
    if not address:
        daemon.kill()
        raise RuntimeError("dbus-daemon did not print its address")
    return daemon, address


def patch_bluezoo():
    """Applies the run-time fixes listed in the module doc."""
    from bluezoo import bluezoo as bz
    from bluezoo import events
    from bluezoo.device import Device
    from bluezoo.exceptions import DBusBluezFailedError
    from bluezoo.gatt import GattCharacteristicClientLink
    from bluezoo.log import logger

    original_connect = Device.connect

    def counterpart(device):
        """The device object that stands for this device's adapter on the peer adapter."""
        peer_adapter, adapter = device.peer_adapter, device.adapter
        if peer_adapter is None or adapter is None:
            return None
        path = f"{peer_adapter.get_object_path()}/dev_{adapter.address.replace(':', '_')}"
        return peer_adapter.devices.get(path)

    async def set_quietly(device, prop: str, attr: str, value: bool):
        # The peer object of a device may not be exported; then only the field is set.
        try:
            await getattr(device, prop).set_async(value)
        except Exception:  # noqa: BLE001 - unexported object, nothing to notify
            setattr(device, attr, value)

    async def drop_links(device):
        """Unexports the GATT link objects of a connection and stops their notifications."""
        for link in list(device.services.values()):
            if isinstance(link, GattCharacteristicClientLink):
                # StartNotify stores a bare pyventus subscriber where __init__ put an empty
                # events.Subscription wrapper; both have unsubscribe().
                subscription = link.client_props_changed_subscription
                subscribed = (not isinstance(subscription, events.Subscription)
                              or subscription.subscriber is not None)
                subscription.unsubscribe()
                link.client_props_changed_subscription = events.Subscription()
                if subscribed:
                    try:
                        await link.client.StopNotify()
                    except Exception as error:  # noqa: BLE001 - peripheral may be gone
                        logger.debug(f"StopNotify on {link} failed: {error}")
                for f in (link.f_read, link.f_write):
                    if f is not None:
                        f.close()
                link.f_read = link.f_write = None
            try:
                device.peer_adapter.mock.remove_object(link)
            except KeyError:
                pass
        device.services.clear()

    async def disconnect(self, uuid=None):
        self.connecting_task.cancel()
        was_connected = self.connected
        logger.info(f"Disconnecting {self}")
        for dev in (self.peer, self):
            await set_quietly(dev, "Connected", "connected", False)
        await drop_links(self)
        for dev in (self.peer, self):
            await set_quietly(dev, "ServicesResolved", "services_resolved", False)
        other = counterpart(self)
        if was_connected and other is not None and other is not self and other.connected:
            await other.disconnect()

    async def connect(self, uuid=None):
        if self.is_le and not self.connected and not self.peer_adapter.advertisements:
            raise DBusBluezFailedError("le-connection-abort-by-local")
        if self.services:
            await drop_links(self)
        await original_connect(self, uuid)

    Device.connect = connect
    Device.disconnect = disconnect

    original_discovering = bz.BluezMockService.create_discovering_task

    def create_discovering_task(self, id: int):
        scan = original_discovering(self, id)

        async def expire():
            try:
                while True:
                    await asyncio.sleep(self.scan_interval)
                    adapter = self.adapters.get(id)
                    if adapter is None:
                        continue
                    for device in list(adapter.devices.values()):
                        peer = device.peer_adapter
                        gone = (not peer.powered
                                or (not peer.advertisements and not peer.discoverable))
                        if gone and not device.connected:
                            logger.info(f"Expiring {device} from {adapter}")
                            await adapter.del_device(device)
            finally:
                scan.cancel()

        return asyncio.create_task(expire())

    bz.BluezMockService.create_discovering_task = create_discovering_task


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locks", type=int, default=1, help="number of lock adapters")
    parser.add_argument("--phone", default=DEFAULT_PHONE, help="phone adapter address")
    parser.add_argument("--lock", action="append", default=[],
                        help="lock adapter address (repeat; default C0:FF:EE:00:01:NN)")
    parser.add_argument("--scan-interval", type=int, default=1)
    parser.add_argument(
        "--socket", help="bus socket path (default: in a new temp dir); a fixed path lets a "
        "process that cached the bus address (libdbus does) reach every new BlueZoo")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args()

    die_with_parent()
    locks = args.lock or [lock_address(256 + i) for i in range(1, args.locks + 1)]
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose, stream=sys.stderr)

    workdir = tempfile.mkdtemp(prefix="bluezoo-")
    daemon, address = start_bus(workdir, args.socket)
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address

    try:
        from bluezoo import bluezoo as bz
        patch_bluezoo()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, loop.stop)
        # --auto-enable and one adapter per address, as `bluezoo --auto-enable -a ...` does.
        loop.run_until_complete(bz.startup(
            bus="system", adapters=[args.phone, *locks], auto_enable=True,
            scan_interval=args.scan_interval))
        print(f"DBUS_SYSTEM_BUS_ADDRESS={address}")
        print(f"PHONE_ADAPTER={args.phone}")
        print(f"LOCK_ADAPTERS={' '.join(locks)}")
        print("BLUEZOO_READY", flush=True)
        loop.run_forever()
        try:
            loop.run_until_complete(asyncio.wait_for(bz.shutdown(), 5))
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
    finally:
        daemon.terminate()
        try:
            daemon.wait(5)
        except subprocess.TimeoutExpired:
            daemon.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
