#!/usr/bin/python3
"""telegram-emulator as a user runs it, with Telethon (Debian's python3-telethon) as the
client nobody here wrote:

- the ready line, the state directory (public.pem in PKCS#1), the control API's answers
  and its error answers;
- every fault switch, set through the control API while Telethon works and from the
  command line at start: Telethon's calls still succeed (it resends after dropped
  connections and bad salts, and waits out FLOOD_WAIT as it does on Telegram);
- restart of a DC through the control API and with SIGHUP;
- the state surviving a restart of the process: the same RSA key, and Telethon's auth
  key still known (no new key exchange).

Usage: test_emulator_binary.py BUILD_BIN_DIR   (run with Debian's /usr/bin/python3)
"""
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from telethon import TelegramClient, errors, functions
from telethon.crypto import rsa
from telethon.network import connection
from telethon.sessions import MemorySession


class Emulator:
    def __init__(self, bindir, state, extra=()):
        self.proc = subprocess.Popen(
            [os.path.join(bindir, "telegram-emulator"), "--dir", state, "--port", "0",
             "--control-port", "0", *extra],
            stdout=subprocess.PIPE, text=True)
        self.line = self.proc.stdout.readline()
        assert "ready" in self.line, self.line
        self.ports = {int(d): int(p) for d, p in re.findall(r"DC (\d+) [0-9.]+:(\d+)", self.line)}
        self.control = re.search(r"control API (http://[0-9.:]+)", self.line).group(1)

    def request(self, method, path, body=None):
        data = None if body is None else body.encode()
        req = urllib.request.Request(self.control + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def stats(self, dc):
        status, body = self.request("GET", "/dcs/%d" % dc)
        assert status == 200, body
        return body["stats"]

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(10) == 0


def client_for(emu, dc=1, auth_key=None, conn=connection.ConnectionTcpIntermediate):
    session = MemorySession()
    session.set_dc(dc, "127.0.0.1", emu.ports[dc])
    if auth_key is not None:
        session.auth_key = auth_key
    return TelegramClient(session, api_id=1, api_hash="0" * 32, connection=conn,
                          receive_updates=False, flood_sleep_threshold=60)


async def nearest(client, dc=1):
    result = await client(functions.help.GetNearestDcRequest())
    assert result.this_dc == dc, result


def check_control_api(emu):
    status, body = emu.request("GET", "/dcs")
    assert status == 200 and [d["id"] for d in body["dcs"]] == [1, 2, 3], body
    assert {d["id"]: d["port"] for d in body["dcs"]} == emu.ports, (body, emu.ports)
    status, body = emu.request("POST", "/dcs/2/faults", '{"bad_salt": 3, "delay_ms": 200}')
    assert status == 200 and body == {"drop_after": 0, "bad_salt": 3, "delay_ms": 200,
                                      "flood_wait": 0, "flood_wait_seconds": 0}, body
    assert emu.request("GET", "/dcs/2/faults") == (200, body)
    assert emu.request("POST", "/dcs/2/faults", "{}")[1]["bad_salt"] == 0
    for bad_body, error in [('{"unknown": 1}', 'unknown fault "unknown"'),
                            ('{"delay_ms": -5}', "fault values are integers from 0 to 1000000000"),
                            ("[1,2]", "the body must be a JSON object"),
                            ("not json", "the body must be a JSON object")]:
        assert emu.request("POST", "/dcs/1/faults", bad_body) == (400, {"error": error}), bad_body
    assert emu.request("GET", "/dcs/9/faults") == (404, {"error": "no such DC"})
    assert emu.request("GET", "/nope") == (404, {"error": "no route GET /nope"})
    assert emu.request("DELETE", "/dcs") == (404, {"error": "no route DELETE /dcs"})
    print("ok   control API answers and errors")


async def check_faults(emu):
    client = client_for(emu)
    await client.connect()
    await nearest(client)
    for faults, what in [({"bad_salt": 3}, "bad salts"),
                         ({"delay_ms": 700}, "delayed answers"),
                         ({"flood_wait": 2, "flood_wait_seconds": 1}, "FLOOD_WAIT_1"),
                         ({"drop_after": 2}, "dropped connections")]:
        status, _ = emu.request("POST", "/dcs/1/faults", json.dumps(faults))
        assert status == 200
        started = time.monotonic()
        for _ in range(4):
            await asyncio.wait_for(nearest(client), 60)
        if "flood_wait" in faults:
            # Telethon slept on FLOOD_WAIT_1 twice before succeeding
            assert time.monotonic() - started >= 1.9, time.monotonic() - started
        emu.request("POST", "/dcs/1/faults", "{}")
        print("ok   telethon through %s" % what)
    before = emu.stats(1)
    status, body = emu.request("POST", "/dcs/1/restart")
    assert (status, body) == (200, {"ok": True})
    assert emu.stats(1)["restarts"] == before["restarts"] + 1
    await asyncio.wait_for(nearest(client), 60)
    os.kill(emu.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 30  # the signal is handled when it is handled
    while emu.stats(1)["restarts"] != before["restarts"] + 2:
        assert time.monotonic() < deadline, "SIGHUP did not restart the DCs"
        await asyncio.sleep(0.05)
    await asyncio.wait_for(nearest(client), 60)
    # each restart closed Telethon's connection and it made a new one
    assert emu.stats(1)["connections"] >= before["connections"] + 2, (before, emu.stats(1))
    print("ok   telethon through a DC restart (control API) and SIGHUP")
    key = client.session.auth_key
    await client.disconnect()
    return key


async def main(bindir):
    with tempfile.TemporaryDirectory() as state:
        emu = Emulator(bindir, state)
        try:
            with open(os.path.join(state, "public.pem")) as f:
                public = f.read()
            assert public.startswith("-----BEGIN RSA PUBLIC KEY-----\n"), public
            for name in ("server_key.pem", "salt_secret", "auth_keys"):
                assert os.path.exists(os.path.join(state, name)), name
            rsa.add_key(public, old=False)
            check_control_api(emu)
            key = await check_faults(emu)
        finally:
            emu.stop()

        # the same state, a new process: same key, Telethon's auth key still valid
        emu = Emulator(bindir, state)
        try:
            with open(os.path.join(state, "public.pem")) as f:
                assert f.read() == public
            client = client_for(emu, auth_key=key)
            await client.connect()
            await nearest(client)
            await client.disconnect()
            assert emu.stats(1)["auth_keys"] == 0, emu.stats(1)
            print("ok   state kept across an emulator restart (RSA key, auth key)")
        finally:
            emu.stop()

        # faults from the command line, on DC 2 only
        emu = Emulator(bindir, state, ["--fault-dc", "2", "--bad-salt", "2", "--delay-ms", "150",
                                       "--flood-wait", "1:1"])
        try:
            assert emu.request("GET", "/dcs/1/faults")[1]["bad_salt"] == 0
            assert emu.request("GET", "/dcs/2/faults")[1] == {
                "drop_after": 0, "bad_salt": 2, "delay_ms": 150, "flood_wait": 1,
                "flood_wait_seconds": 1}
            client = client_for(emu, dc=2, conn=connection.ConnectionTcpAbridged)
            # connect() sends its first query without Telethon's flood handling, so the
            # one FLOOD_WAIT_1 reaches us as Telethon parses Telegram's: a FloodWaitError
            try:
                await client.connect()
                raise AssertionError("no FLOOD_WAIT at the first query")
            except errors.FloodWaitError as e:
                assert e.seconds == 1, e
            await client.connect()  # through the two bad salts and the delay
            await nearest(client, dc=2)
            await client.disconnect()
            print("ok   faults from the command line (bad salt, delay, FLOOD_WAIT_1)")
        finally:
            emu.stop()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1]))
