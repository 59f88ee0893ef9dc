#!/usr/bin/python3
"""An MTProto client nobody here wrote, against telegram-emulator.

Telethon 1.25.1 from Debian (python3-telethon, API layer 144) connects to a freshly
started telegram-emulator with the emulator's RSA key, over each of its transports:
full, abridged, intermediate and obfuscated (abridged). For each it creates an auth key
(Telethon's own handshake: the older RSA scheme, p_q_inner_data without dc, salt 0 and
bad_server_salt), runs invokeWithLayer(144, initConnection(help.getConfig)), which the
emulator must answer in layer 144, calls help.getNearestDc and exchanges pings.

Usage: test_telethon_mtproto.py BUILD_BIN_DIR   (run with Debian's /usr/bin/python3)
"""
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

from telethon import TelegramClient, functions
from telethon.crypto import rsa
from telethon.network import connection
from telethon.sessions import MemorySession
from telethon.tl.alltlobjects import LAYER

TRANSPORTS = [
    ("full", connection.ConnectionTcpFull),
    ("abridged", connection.ConnectionTcpAbridged),
    ("intermediate", connection.ConnectionTcpIntermediate),
    ("obfuscated", connection.ConnectionTcpObfuscated),
]


def start_emulator(bindir, state):
    proc = subprocess.Popen(
        [os.path.join(bindir, "telegram-emulator"), "--dir", state, "--port", "0",
         "--control-port", "0"],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "ready" not in line:
        proc.kill()
        raise SystemExit("telegram-emulator did not print its ready line: %r" % line)
    ports = {int(dc): int(port) for dc, port in re.findall(r"DC (\d+) [0-9.]+:(\d+)", line)}
    control = re.search(r"control API (http://[0-9.:]+)", line).group(1)
    return proc, ports, control


def dc_stats(control, dc):
    with urllib.request.urlopen("%s/dcs/%d" % (control, dc)) as r:
        return json.load(r)["stats"]


async def one_transport(name, conn_class, port, control):
    before = dc_stats(control, 1)
    session = MemorySession()
    session.set_dc(1, "127.0.0.1", port)
    client = TelegramClient(session, api_id=1, api_hash="0" * 32, connection=conn_class,
                            receive_updates=False)
    await client.connect()
    assert client.is_connected(), name
    assert session.auth_key is not None and len(session.auth_key.key) == 256, name

    nearest = await client(functions.help.GetNearestDcRequest())
    assert nearest.this_dc == 1 and nearest.nearest_dc == 1, nearest

    config = await client(functions.help.GetConfigRequest())
    assert config.this_dc == 1, config.this_dc
    listed = {o.id: o.port for o in config.dc_options}
    assert listed.get(1) == port, listed

    for ping_id in (1, 2**62, 12345):
        pong = await client(functions.PingRequest(ping_id=ping_id))
        assert pong.ping_id == ping_id, pong

    await client.disconnect()
    after = dc_stats(control, 1)
    # one new key, and every query seen by the DC: initConnection, nearest, config
    assert after["auth_keys"] == before["auth_keys"] + 1, (before, after)
    assert after["queries"] >= before["queries"] + 3, (before, after)
    print("ok   telethon over %s: auth key, layer %d initConnection, getNearestDc, "
          "getConfig, pings" % (name, LAYER))


async def main(bindir):
    with tempfile.TemporaryDirectory() as state:
        proc, ports, control = start_emulator(bindir, state)
        try:
            with open(os.path.join(state, "public.pem")) as f:
                rsa.add_key(f.read(), old=False)
            for name, conn_class in TRANSPORTS:
                await asyncio.wait_for(one_transport(name, conn_class, ports[1], control), 60)
        finally:
            proc.terminate()
            proc.wait(10)
    print("telethon %s: %d transports passed" % (LAYER, len(TRANSPORTS)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1]))
