"""ES256 signatures in one form only: the tokens Tessera issues carry the low-s form (s <= n/2),
and the copy of a real token with its signature turned into (r, n - s) -- as valid for ECDSA, but
another string, which a revocation list or a cache keyed by the token's text would not know -- is
refused wherever Tessera verifies its own tokens (docs/security.md row 81)."""
from tessera_harness import b64url_decode, b64url_encode, code_flow, idp, idp_user  # noqa: F401

# the order of the P-256 group
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def signature_s(token):
    sig = b64url_decode(token.rsplit(".", 1)[1])
    assert len(sig) == 64
    return int.from_bytes(sig[32:], "big")


def high_s(token):
    """token with its ES256 signature (r, s) turned into (r, n - s)."""
    head, sig = token.rsplit(".", 1)
    raw = b64url_decode(sig)
    s = int.from_bytes(raw[32:], "big")
    return head + "." + b64url_encode(raw[:32] + (P256_N - s).to_bytes(32, "big"))


def test_row81_tokens_are_issued_with_low_s(idp):
    """docs/security.md row 81: OpenSSL picks either form; Tessera sends only the low one."""
    rs = idp.clients["cc-only"]
    for _ in range(24):
        tok = idp.access_token(rs)
        assert signature_s(tok) <= P256_N // 2, tok


def test_row81_high_s_copy_of_a_real_token_is_inactive_and_401(idp):
    """docs/security.md row 81: a user's access token, and its (r, n - s) copy: the original is
    active at /introspect and answers at /userinfo; the copy is inactive and gets 401."""
    u, pw, _uid = idp_user(idp)
    lg = code_flow(idp, idp.clients["web"], u, pw, redirect_uri="http://127.0.0.1:9/cb",
                   scope="openid profile")
    tok = lg.access_token
    bad = high_s(tok)
    assert bad != tok and signature_s(bad) > P256_N // 2
    rs = idp.clients["rs"]
    assert idp.introspection(rs, bad) == {"active": False}
    r = idp.userinfo(bad)
    assert r.status_code == 401, (r.status_code, r.text)
    assert 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")
    # the original still works, before and after the copy was tried
    assert idp.introspection(rs, tok)["active"] is True
    assert idp.userinfo(tok).status_code == 200
    assert idp.introspection(rs, bad) == {"active": False}


def test_row81_high_s_copy_of_a_client_token_is_inactive(idp):
    """docs/security.md row 81: the same for a client-credentials token."""
    rs = idp.clients["rs"]
    tok = idp.access_token(idp.clients["cc-only"])
    assert idp.introspection(rs, tok)["active"] is True
    assert idp.introspection(rs, high_s(tok)) == {"active": False}
