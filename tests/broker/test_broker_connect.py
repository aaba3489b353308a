"""CONNECT: the MQTT password is a Tessera access token; everything that is not a good one is
refused with "not authorized" (MQTT 3.1.1 rc 5, MQTT 5 reason 0x87). And the same token works in
JWKS-file and JWKS-URL mode (docs/broker.md, "Clients" and "Where the keys come from")."""
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mosquitto_harness import CB, NOT_AUTHORIZED_V311, NOT_AUTHORIZED_V5, broker_opts, roundtrip_ok
from tessera_harness import (b64url_decode, b64url_encode, code_flow, forge_hs256,
                             forge_none, jwt_parts, public_pem, run_cli, sign_jwt,
                             signing_key_from_db)


def fresh_ec_pem():
    k = ec.generate_private_key(ec.SECP256R1())
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode("ascii")


def good_claims(srv, **over):
    """Claims as Tessera would issue them for dev1 (pub on sensors/dev1/#); over replaces some
    (None removes)."""
    now = int(time.time())
    c = {"iss": srv.issuer, "sub": "dev1", "aud": "mqtt", "client_id": "dev1",
         "scope": "mqtt:pub:sensors/dev1/#", "iat": now, "exp": now + 300,
         "jti": uuid.uuid4().hex}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


class Keys:
    def __init__(self, srv):
        self.srv = srv
        self.kid = srv.kid
        self.alg, self.pem = signing_key_from_db(srv.db, srv.kid)
        self.other_pem = fresh_ec_pem()

    def sign(self, claims, **kw):
        return sign_jwt(self.pem, self.kid, claims, alg=self.alg, **kw)


@pytest.fixture(scope="module")
def keys(srv):
    return Keys(srv)


def tamper_scope(token):
    h, p, s = token.split(".")
    claims = json.loads(b64url_decode(p))
    claims["scope"] = "mqtt:pubsub:#"
    return "%s.%s.%s" % (h, b64url_encode(json.dumps(claims)), s)


def real_id_token(srv):
    u = "u" + uuid.uuid4().hex[:10]
    srv.add_user(u, "correct horse battery", scope="mqtt:sub:home/${username}/#")
    login = code_flow(srv, srv.clients["app"], u, "correct horse battery", redirect_uri=CB,
                      scope="openid mqtt:sub:home/%s/#" % u)
    idt = login.tokens["id_token"]
    assert jwt_parts(idt)[0].get("typ") == "JWT", jwt_parts(idt)
    return idt


def now():
    return int(time.time())


def unknown_kid():
    return "nope-" + uuid.uuid4().hex[:8]


# name -> function(srv, keys) returning the password (None: no password at all)
REFUSED = {
    "no-password": lambda s, k: None,
    "empty-password": lambda s, k: "",
    "garbage": lambda s, k: "garbage",
    "three-garbage-parts": lambda s, k: "a.b.c",
    "tampered-payload": lambda s, k: tamper_scope(k.sign(good_claims(s))),
    "signed-by-another-key-same-kid": lambda s, k: sign_jwt(k.other_pem, k.kid, good_claims(s)),
    "signed-by-another-key-unknown-kid": lambda s, k: sign_jwt(k.other_pem, unknown_kid(),
                                                               good_claims(s)),
    "expired": lambda s, k: k.sign(good_claims(s, iat=now() - 1200, exp=now() - 600)),
    "no-exp": lambda s, k: k.sign(good_claims(s, exp=None)),
    "not-yet-valid-nbf": lambda s, k: k.sign(good_claims(s, nbf=now() + 600)),
    "wrong-iss": lambda s, k: k.sign(good_claims(s, iss="http://127.0.0.1:1")),
    "iss-with-trailing-slash": lambda s, k: k.sign(good_claims(s, iss=s.issuer + "/")),
    "wrong-aud": lambda s, k: k.sign(good_claims(s, aud="other")),
    "aud-array-without-mqtt": lambda s, k: k.sign(good_claims(s, aud=["other", "x"])),
    "no-aud": lambda s, k: k.sign(good_claims(s, aud=None)),
    "alg-none": lambda s, k: forge_none(good_claims(s), k.kid),
    "hs256-with-public-key": lambda s, k: forge_hs256(good_claims(s), k.kid, public_pem(k.pem)),
    "typ-JWT": lambda s, k: k.sign(good_claims(s), typ="JWT"),
    "no-typ": lambda s, k: k.sign(good_claims(s), typ=None),
    "real-id-token": lambda s, k: real_id_token(s),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_connect_refused_not_authorized(srv, url_broker, keys, case):
    password = REFUSED[case](srv, keys)
    rc = url_broker.connect_rc(password, username="dev1")
    assert rc == NOT_AUTHORIZED_V311, "%s: CONNACK %r, want 5 (not authorized)" % (case, rc)


def test_connect_refused_mqtt5_reason_0x87(srv, url_broker, keys):
    assert url_broker.connect_rc(forge_none(good_claims(srv), keys.kid), v5=True) \
        == NOT_AUTHORIZED_V5
    assert url_broker.connect_rc("garbage", v5=True) == NOT_AUTHORIZED_V5
    assert url_broker.connect_rc(srv.access_token(srv.clients["dev1"]), v5=True) == 0


def test_connect_accepted(srv, url_broker, keys):
    # a real client-credentials token, and hand-made ones that differ from the refused cases
    # only in what those break (so each refusal above is for its stated reason)
    assert url_broker.connect_rc(srv.access_token(srv.clients["dev1"]), username="dev1") == 0
    assert url_broker.connect_rc(keys.sign(good_claims(srv))) == 0
    assert url_broker.connect_rc(keys.sign(good_claims(srv, aud=["other", "mqtt"]))) == 0
    # the username is not checked: any non-empty string
    assert url_broker.connect_rc(srv.access_token(srv.clients["dev1"]), username="x") == 0


def test_user_token_from_the_code_flow_is_accepted_and_scoped(srv, url_broker, clients):
    u = "u" + uuid.uuid4().hex[:10]
    srv.add_user(u, "correct horse battery", scope="mqtt:sub:home/${username}/#")
    login = code_flow(srv, srv.clients["app"], u, "correct horse battery", redirect_uri=CB,
                      scope="openid mqtt:sub:home/%s/#" % u)
    c = url_broker.connect(login.access_token, username=u)
    clients.append(c)
    assert c.subscribe("home/%s/#" % u) == [1]
    assert c.subscribe("home/#") == [0x80]


def test_same_token_works_in_jwks_file_and_jwks_url_mode(srv, url_broker, broker_factory,
                                                        keys):
    r = run_cli(["key", "jwks"], db=srv.db)
    assert r.rc == 0, r
    assert [k["kid"] for k in r.json()["keys"]] == [k["kid"] for k in srv.jwks()["keys"]]
    b = broker_factory.new([], name="mosq-file")
    path = b.dir + "/jwks.json"
    with open(path, "w") as f:
        f.write(r.stdout)
    b.opts = broker_opts(srv, mode="file", jwks_file=path)
    b.start()

    token = srv.access_token(srv.clients["chat-a"])       # mqtt:pubsub:chat/room1
    assert roundtrip_ok(b, token, "chat/room1")
    assert roundtrip_ok(url_broker, token, "chat/room1")
    # and the file-mode broker refuses what the URL-mode one does
    assert b.connect_rc(sign_jwt(keys.other_pem, keys.kid, good_claims(srv))) \
        == NOT_AUTHORIZED_V311
    assert b.connect_rc(forge_none(good_claims(srv), keys.kid)) == NOT_AUTHORIZED_V311
    assert b.connect_rc(keys.sign(good_claims(srv, iss="http://127.0.0.1:1"))) \
        == NOT_AUTHORIZED_V311
