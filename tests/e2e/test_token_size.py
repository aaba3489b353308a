"""The size of an access token for a constrained link (issue 21 §4): client sensor-17's JWT with
three MQTT topic scopes, ES256 and a 30-character issuer, with every claim RFC 9068 §2.2 requires
and the at+jwt header. docs/security.md row 84.

Sizes (bytes) before -> after: topics as short as the issue measured (517 before) -> 450; the
longer topics of SCOPE_LONG 548 -> 480. What was cut: the kid is 6 characters, not the 43 of the
whole thumbprint; the jti 16 (96 random bits), not 22; the client record rides in the jti
("<random>.<record>") instead of a crec claim. Every further scope character costs 4/3 byte."""
import pytest

from tessera_harness import jwt_parts, verify_jwt

ISSUER = "https://auth.example.com/t1234"    # 30 characters
SCOPE_SHORT = "mqtt:pub:s/17/temp mqtt:sub:s/17/cmd/# mqtt:pub:s/17/status"
SCOPE_LONG = "mqtt:pub:sensors/17/telemetry mqtt:sub:sensors/17/cmd/# mqtt:pub:sensors/17/status"
REQUIRED = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")


@pytest.fixture(scope="module")
def srv(server_factory):
    s = server_factory.new(config={"server": {"issuer": ISSUER}}, flags="listen")
    s.init()
    s.add_client("sensor-17", scope=SCOPE_LONG + " " + SCOPE_SHORT)
    s.add_client("rs", scope="introspect")
    return s.start()


@pytest.mark.parametrize("scope,limit", [(SCOPE_SHORT, 450), (SCOPE_LONG, 480)])
def test_a_sensor_token_with_three_topics_and_a_30_character_issuer_is_small(srv, scope, limit):
    assert len(ISSUER) == 30
    tok = srv.access_token(srv.clients["sensor-17"], scope=scope)
    header, claims = jwt_parts(tok)
    print("sensor-17 access token, scope of %d characters: %d bytes"
          % (len(scope), len(tok)))
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": header["kid"]}
    for name in REQUIRED:
        assert name in claims, name
    assert claims["iss"] == ISSUER and claims["client_id"] == claims["sub"] == "sensor-17"
    assert claims["scope"] == scope and "crec" not in claims
    assert verify_jwt(tok, srv.jwks())["client_id"] == "sensor-17"
    assert srv.is_active(srv.clients["rs"], tok) is True
    assert len(tok) <= limit, "%d bytes: %s" % (len(tok), tok)


def test_the_kid_is_short_and_names_the_published_key(srv):
    tok = srv.access_token(srv.clients["sensor-17"], scope=SCOPE_SHORT)
    kid = jwt_parts(tok)[0]["kid"]
    assert len(kid) == 6, kid
    assert [k["kid"] for k in srv.jwks()["keys"]] == [kid]
