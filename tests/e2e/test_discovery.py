"""Discovery documents, /jwks, /healthz and /metrics."""
import re

import pytest
import requests

from tessera_harness import SANITIZERS, free_port, http_timeout, metric, post_form, wait_for

DOCS = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
PRIVATE_JWK_PARTS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[{"client_id": "disco", "scope": "mqtt:sub:a/#"}])


@pytest.mark.parametrize("path", DOCS)
def test_discovery_document_lists_endpoints_under_the_exact_issuer(srv, path):
    r = srv.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
    d = r.json()
    assert d["issuer"] == srv.issuer
    assert d["token_endpoint"] == srv.issuer + "/token"
    assert d["jwks_uri"] == srv.issuer + "/jwks"
    assert d["introspection_endpoint"] == srv.issuer + "/introspect"
    assert d["revocation_endpoint"] == srv.issuer + "/revoke"
    assert "client_credentials" in d["grant_types_supported"]
    # "none": public clients redeem codes with client_id and PKCE only
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"} <= \
        set(d["token_endpoint_auth_methods_supported"]), d
    for k in ("introspection_endpoint_auth_methods_supported",
              "revocation_endpoint_auth_methods_supported"):
        assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(d[k]), \
            (k, d.get(k))
        assert "none" not in d[k], (k, d[k])
    # docs/security.md row 91: what private_key_jwt assertions may be signed with; never none
    # nor an HMAC
    for k in ("token_endpoint_auth_signing_alg_values_supported",
              "introspection_endpoint_auth_signing_alg_values_supported",
              "revocation_endpoint_auth_signing_alg_values_supported"):
        assert d[k] == ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"], (k, d.get(k))
    assert isinstance(d["scopes_supported"], list) and d["scopes_supported"]
    assert d["response_types_supported"] == ["code"]
    assert d["authorization_endpoint"] == srv.issuer + "/authorize"
    assert d["userinfo_endpoint"] == srv.issuer + "/userinfo"
    assert "authorization_code" in d["grant_types_supported"]
    assert d["authorization_response_iss_parameter_supported"] is True
    assert d["subject_types_supported"] == ["public"]
    assert d["id_token_signing_alg_values_supported"] == ["ES256"]
    assert {"openid", "profile", "email"} <= set(d["scopes_supported"])


@pytest.mark.parametrize("path", DOCS)
def test_row3_discovery_lists_only_s256(srv, path):
    assert srv.get(path).json()["code_challenge_methods_supported"] == ["S256"]


@pytest.mark.parametrize("path", DOCS)
def test_row37_no_none_algorithm_advertised(srv, path):
    d = srv.get(path).json()
    for k, v in d.items():
        if k.endswith("alg_values_supported"):
            assert "none" not in [x.lower() for x in v], (k, v)


def test_both_discovery_documents_agree(srv):
    a, b = (srv.get(p).json() for p in DOCS)
    for k in ("issuer", "token_endpoint", "jwks_uri", "introspection_endpoint",
              "revocation_endpoint", "grant_types_supported",
              "token_endpoint_auth_methods_supported", "response_types_supported",
              "scopes_supported"):
        assert a[k] == b[k], k
    assert a == b


def test_discovered_token_endpoint_works(srv):
    d = srv.get(DOCS[0]).json()
    c = srv.clients["disco"]
    r = post_form(d["token_endpoint"], [("grant_type", "client_credentials")],
                  headers={"Authorization": c.basic()})
    assert r.status_code == 200, r.text


def test_issuer_flag_overrides_config_issuer(fresh_factory):
    s = fresh_factory.start(config={"server": {"issuer": "https://auth.example.test/tessera"}})
    assert s.get(DOCS[0]).json()["issuer"] == s.issuer


def test_config_issuer_is_used_verbatim(fresh_factory):
    cfg_issuer = "https://auth.example.test/tessera"
    s = fresh_factory.new(config={"server": {"issuer": cfg_issuer}}, flags="listen")
    s.start()
    d = s.get(DOCS[1]).json()
    assert d["issuer"] == cfg_issuer
    assert d["token_endpoint"] == cfg_issuer + "/token"


def test_listen_address_from_config_file(fresh_factory):
    port = free_port()
    s = fresh_factory.new(config={"server": {"listen": "127.0.0.1:%d" % port,
                                             "issuer": "http://127.0.0.1:%d" % port}},
                          flags=False)
    s.start(port=port)
    assert s.get(DOCS[0]).json()["issuer"] == "http://127.0.0.1:%d" % port


# ---------------------------------------------------------------- jwks

def test_row37_jwks_public_parts_only_with_unique_kids(srv):
    r = srv.get("/jwks")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0].strip() in (
        "application/json", "application/jwk-set+json")
    keys = r.json()["keys"]
    assert keys, "empty JWKS"
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids)), kids
    for k in keys:
        assert not (PRIVATE_JWK_PARTS & set(k)), k
        assert k["kty"] == "EC" and k["crv"] == "P-256"
        assert k["alg"] == "ES256" and k["use"] == "sig"
        assert k["x"] and k["y"]
        assert k.get("alg", "").lower() != "none"


def test_jwks_holds_the_kid_that_init_reported(srv):
    assert srv.kid in [k["kid"] for k in srv.jwks()["keys"]]


def test_jwks_keys_import_with_authlib(srv):
    from authlib.jose import JsonWebKey
    ks = JsonWebKey.import_key_set(srv.jwks())
    assert len(ks.keys) >= 1


# ---------------------------------------------------------------- healthz, metrics

def test_healthz_is_ok(srv):
    r = srv.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_metrics_is_prometheus_text(srv):
    r = srv.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE" in r.text


def test_metrics_report_malloc_in_use_and_kept_free(srv):
    """Two gauges say whether a growing RSS is live data or freed memory malloc keeps."""
    text = srv.get("/metrics").text
    assert "# TYPE tessera_malloc_in_use_bytes gauge" in text
    assert "# TYPE tessera_malloc_free_bytes gauge" in text
    got = dict(re.findall(r"^(tessera_malloc_\w+_bytes) (\d+)$", text, re.M))
    if SANITIZERS:
        return  # AddressSanitizer's allocator answers glibc's mallinfo2 with zeros
    # the daemon holds at least its signing keys, caches and SQLite connections
    assert int(got["tessera_malloc_in_use_bytes"]) > 1 << 20, got
    assert int(got["tessera_malloc_free_bytes"]) >= 0, got


def test_metrics_counters_move_after_requests(srv):
    c = srv.clients["disco"]
    before = srv.metrics()
    for _ in range(3):
        assert srv.token(c).status_code == 200
    bad = srv.token(c, auth="none", extra=[("client_id", "disco"), ("client_secret", "nope")])
    assert bad.status_code == 401
    ok_key = dict(name="tessera_http_requests_total", endpoint="/token", code="200")
    bad_key = dict(name="tessera_http_requests_total", endpoint="/token", code="401")
    # a request is counted once its answer has left (libmicrohttpd's completion callback), which
    # may be a moment after the client read it and asked /metrics on another connection; each
    # connection's callback runs on its own, so the 401 may be counted before the last 200
    # (both counters are waited for)
    def counted():
        a = srv.metrics()
        return a if (metric(a, **bad_key) - metric(before, **bad_key) >= 1 and
                     metric(a, **ok_key) - metric(before, **ok_key) >= 3) else None
    after = wait_for(counted, within=2, step=0.02) or srv.metrics()
    assert metric(after, **ok_key) - metric(before, **ok_key) >= 3, after
    assert metric(after, **bad_key) - metric(before, **bad_key) >= 1
    iss = dict(name="tessera_tokens_issued_total", grant_type="client_credentials")
    assert metric(after, **iss) - metric(before, **iss) == 3
    cnt = [v for (n, _l), v in after.items() if n == "tessera_http_request_duration_seconds_count"]
    cnt0 = [v for (n, _l), v in before.items() if n == "tessera_http_request_duration_seconds_count"]
    assert cnt and sum(cnt) >= sum(cnt0) + 4
    assert any(n == "tessera_http_request_duration_seconds_sum" for n, _ in after)
    les = {dict(l).get("le") for n, l in after if n == "tessera_http_request_duration_seconds_bucket"}
    assert "+Inf" in les, les


def test_metrics_say_what_the_writes_cost(srv):
    """The writer's counters: a revocation (one write) moves its jobs, transactions and busy time,
    from which an operator reads what each write costs (make bench-pg does, per flow)."""
    c = srv.clients["disco"]
    tok = srv.token(c).json()["access_token"]
    before = srv.metrics()
    assert srv.revoke(c, tok).status_code == 200
    after = srv.metrics()
    for name in ("tessera_writer_jobs_total", "tessera_writer_transactions_total"):
        assert metric(after, name=name) - metric(before, name=name) >= 1, name
    busy = "tessera_writer_busy_seconds_total"
    assert metric(after, name=busy) > metric(before, name=busy)
    # each transaction holds one job at least
    assert metric(after, name="tessera_writer_jobs_total") >= \
        metric(after, name="tessera_writer_transactions_total")


def test_metrics_buckets_are_cumulative(srv):
    srv.get("/healthz")
    series = {}
    for (n, l), v in srv.metrics().items():
        if n == "tessera_http_request_duration_seconds_bucket":
            d = dict(l)
            le = d.pop("le")
            series.setdefault(frozenset(d.items()), []).append(
                (float("inf") if le == "+Inf" else float(le), v))
    assert series
    for pts in series.values():
        pts.sort()
        vals = [v for _, v in pts]
        assert vals == sorted(vals), pts


def test_unknown_path_is_404_json(srv):
    r = srv.get("/no/such/thing")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_discovery_rejects_post_with_405(srv):
    r = requests.post(srv.url(DOCS[0]), data="x=1", timeout=http_timeout())
    assert r.status_code == 405
    assert "GET" in r.headers.get("Allow", "")
