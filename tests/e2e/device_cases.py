"""What the device-flow suites share (test_device.py, test_device_pages.py, test_device_polling.py):
the clients, the servers they start (interval 1 s: device_interval, so that polling stays short;
one per module) and helpers for users, codes and raw requests."""
import ctypes
import ctypes.util
import glob
import re
import time
import urllib.parse

import pytest
import requests

from tessera_harness import (B64URL, DEVICE_FIELDS, DEVICE_GRANT, INACTIVE, VSCHAR, Client,
                             Page, UserAgent, b64url_decode, check_device_page, device_decide,
                             device_flow, device_open, device_path, form_quote, get_from,
                             http_timeout, idp_user, is_device_confirmation, jwt_parts,
                             location_of, normalize_user_code, poll_error, random_user_code,
                             t, token_error, token_key, token_ok, user_code_spellings,
                             verify_id_token, verify_jwt, wait_inactive)

# the polling interval: 1 s, 3 s under the sanitizers, where one request may take longer than
# the daemon's 0.5 s tolerance for polls that come too fast
INTERVAL = max(1, int(round(t(1))))
TOLERANCE = 0.5
TTL = 300
SHORT_TTL = max(2, int(round(t(2))))
CB = "https://rp.example/cb"
TV_SCOPE = ("openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/# "
            "mqtt:sub:cmd/dev42 mqtt:pub:sensors/#")
USER_SCOPE = ("mqtt:sub:home/${username}/# mqtt:pub:home/${username}/# "
              "mqtt:pub:sensors/kitchen/#")
DEV_GRANTS = ["device_code", "refresh_token"]
TV_NAME = "Living room TV"
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;\''
# no limits worth speaking of: tests on the shared servers type wrong codes on purpose
NO_LOCKOUT = {"user_code_attempts": 1000000, "user_code_attempts_total": 100000000}


def device_clients():
    return [
        dict(client_id="tv", grants=DEV_GRANTS, scope=TV_SCOPE, name=TV_NAME),
        dict(client_id="tv2", grants=["device_code"], scope=TV_SCOPE, name="Kitchen display"),
        dict(client_id="pub", public=True, grants=DEV_GRANTS, scope=TV_SCOPE, name="Public box"),
        dict(client_id="stable", grants=DEV_GRANTS, scope=TV_SCOPE, name="Stable box",
             extra=["--refresh-rotation", "off"]),
        dict(client_id="code-only", grants=["authorization_code"], redirect_uris=[CB],
             scope=TV_SCOPE, name="Code only"),
        dict(client_id="cc-only", grants=["client_credentials"], scope="mqtt:pub:sensors/#"),
        dict(client_id="rs", scope="introspect"),
    ]


def tokens_config(**kw):
    d = {"device_interval": INTERVAL}
    d.update(kw)
    return {"tokens": d}


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=tokens_config(device_code_ttl=TTL, **NO_LOCKOUT),
                                clients=device_clients(), name="device")


@pytest.fixture(scope="module")
def short(server_factory):
    """Device codes that expire after SHORT_TTL seconds."""
    return server_factory.start(config=tokens_config(device_code_ttl=SHORT_TTL, **NO_LOCKOUT),
                                clients=device_clients(), name="device-short")


def user(s, scope=USER_SCOPE):
    return idp_user(s, prefix="d", scope=scope)


def c(s, cid):
    return s.clients[cid]


def intro(s, tok):
    return s.introspection(c(s, "rs"), tok)


def words(scope):
    return set(scope.split())


def approved(s, cid="tv", scope=None, u=None):
    """A device authorization of cid approved by a new user, redeemed by one poll: (DeviceLogin,
    token answer)."""
    lg = device_flow(s, c(s, cid), user=u or user(s), scope=scope)
    check_device_page(lg.page, 200, "device connected")
    return lg, token_ok(s.device_poll(c(s, cid), lg.device_code))


def raw_post(s, path, body, headers=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    return requests.post(s.url(path), data=body, headers=h, timeout=http_timeout(),
                         allow_redirects=False)


def unknown_code(real):
    """A well-formed user code that is not `real`."""
    while True:
        x = random_user_code()
        if x != normalize_user_code(real):
            return x


def sleep_until(deadline):
    d = deadline - time.monotonic()
    if d > 0:
        time.sleep(d)
