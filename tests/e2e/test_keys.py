"""Signing key rotation while the daemon runs."""
import time

from tessera_harness import cli_ok, jwt_parts, t, verify_jwt


def test_rotation_while_running_new_kid_old_token_still_valid(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "rs", "scope": "introspect"},
                                     {"client_id": "dev", "scope": "mqtt:pub:d/#"}])
    dev, rs = s.clients["dev"], s.clients["rs"]
    old_tok = s.access_token(dev)
    old_kid = jwt_parts(old_tok)[0]["kid"]
    assert old_kid == s.kid

    rot = cli_ok(["key", "rotate"], db=s.db)
    new_kid = rot["kid"]
    assert new_kid != old_kid and rot["alg"] == "ES256"

    # The daemon signs with the new key within a second (README, tessera(8)): 2 s plus slack.
    deadline = time.monotonic() + t(4)
    new_tok = None
    while time.monotonic() < deadline:
        tok = s.access_token(dev)
        if jwt_parts(tok)[0]["kid"] == new_kid:
            new_tok = tok
            break
        assert jwt_parts(tok)[0]["kid"] == old_kid
        time.sleep(0.1)
    assert new_tok, "daemon still signs with %s %.1f s after rotation" % (old_kid, t(4))

    jwks = s.jwks()
    kids = [k["kid"] for k in jwks["keys"]]
    assert old_kid in kids and new_kid in kids, kids
    assert len(kids) == len(set(kids)), kids
    for k in jwks["keys"]:
        assert "d" not in k
    # Both verify against the published set; both introspect as active.
    assert verify_jwt(old_tok, jwks)["client_id"] == "dev"
    assert verify_jwt(new_tok, jwks)["client_id"] == "dev"
    assert s.is_active(rs, old_tok) is True
    assert s.is_active(rs, new_tok) is True

    # key list: newest first, only the new one signs.
    keys = cli_ok(["key", "list"], db=s.db)
    assert keys[0]["kid"] == new_kid and keys[0]["signing"] is True
    assert [k["kid"] for k in keys if k["signing"]] == [new_kid]


def test_two_rotations_publish_all_live_keys(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "dev", "scope": "x"}])
    k0 = s.kid
    tok0 = s.access_token(s.clients["dev"])
    k1 = cli_ok(["key", "rotate"], db=s.db)["kid"]
    deadline = time.monotonic() + t(4)
    tok1 = None
    while time.monotonic() < deadline:
        tok = s.access_token(s.clients["dev"])
        if jwt_parts(tok)[0]["kid"] == k1:
            tok1 = tok
            break
        time.sleep(0.1)
    assert tok1
    k2 = cli_ok(["key", "rotate"], db=s.db)["kid"]
    deadline = time.monotonic() + t(4)
    tok2 = None
    while time.monotonic() < deadline:
        tok = s.access_token(s.clients["dev"])
        if jwt_parts(tok)[0]["kid"] == k2:
            tok2 = tok
            break
        time.sleep(0.1)
    assert tok2
    jwks = s.jwks()
    kids = [k["kid"] for k in jwks["keys"]]
    assert {k0, k1, k2} <= set(kids) and len(kids) == len(set(kids)), kids
    for tok in (tok0, tok1, tok2):
        verify_jwt(tok, jwks)


def test_rotation_before_start_is_used_at_start(fresh_factory):
    s = fresh_factory.new()
    s.init()
    s.add_client("dev", scope="x")
    new_kid = cli_ok(["key", "rotate"], db=s.db)["kid"]
    s.start()
    assert jwt_parts(s.access_token(s.clients["dev"]))[0]["kid"] == new_kid
