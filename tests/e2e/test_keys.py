"""Signing key rotation while the daemon runs."""
from tessera_harness import cli_ok, jwt_parts, t, verify_jwt, wait_for


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

    # The daemon signs with the new key within a second of the rotation (README, tessera(8)):
    # its main loop looks at the store's signing key once a second. The bound is that second,
    # plus slack for a loaded machine's scheduling and the token requests' own time.
    new_tok = signed_with(s, dev, new_kid, old_kid)
    assert new_tok, "daemon still signs with %s %.2f s after rotation" % (old_kid, PICK_UP)

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


PICK_UP = 1.0 + t(0.3)     # the claim (a second) and the slack, which stretches under ASan


def signed_with(s, client, kid, old_kid=None):
    """The first access token signed with kid, asked for until PICK_UP seconds have passed
    since now (just after the rotation); None if none was. Until then, each is signed with
    old_kid."""
    def tok():
        tk = s.access_token(client)
        got = jwt_parts(tk)[0]["kid"]
        assert old_kid is None or got in (kid, old_kid), got
        return tk if got == kid else None
    return wait_for(tok, within=PICK_UP, step=0.05, stretch=False)


def test_two_rotations_publish_all_live_keys(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "dev", "scope": "x"}])
    k0 = s.kid
    tok0 = s.access_token(s.clients["dev"])
    k1 = cli_ok(["key", "rotate"], db=s.db)["kid"]
    tok1 = signed_with(s, s.clients["dev"], k1, k0)
    assert tok1
    k2 = cli_ok(["key", "rotate"], db=s.db)["kid"]
    tok2 = signed_with(s, s.clients["dev"], k2, k1)
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
