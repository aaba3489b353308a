"""How a client authenticates (issue 22, schema 012): `tessera client add --auth-method` with what
each method registers (a JWK Set or its URL, a certificate's subject DN or SAN), checked for form
by the CLI, kept in the store, shown back; a client of a method without a secret gets none and
cannot authenticate with one, nor with its client_id alone. docs/security.md row 127."""
import json
import os

import pytest

from tessera_harness import Client, cli_ok, run_cli

# a point on P-256 (lib/client_jwks.c refuses keys that are not: docs/client-auth.md)
JWKS = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
                  "x": "0R0lts92IDs-9WnqohajD_94C5wcSxGkt5adj1gU3GA",
                  "y": "8kAB7Pyw1mPTt9N3M6Dart2gbzbFFRXzSOGPbP_r3uE"}]}


@pytest.fixture
def db(tdir):
    path = os.path.join(tdir, "t.db")
    cli_ok(["init"], db=path)
    return path


@pytest.fixture
def jwks_file(tdir):
    p = os.path.join(tdir, "jwks.json")
    with open(p, "w") as f:
        json.dump(JWKS, f)
    return p


def test_private_key_jwt_client_keeps_its_keys_and_gets_no_secret(db, jwks_file):
    out = cli_ok(["client", "add", "dev-1", "--auth-method", "private_key_jwt",
                  "--jwks-file", jwks_file], db=db)
    assert out == {"client_id": "dev-1"}
    show = cli_ok(["client", "show", "dev-1"], db=db)
    assert show["auth_method"] == "private_key_jwt"
    assert show["jwks"] == JWKS
    assert show["public"] is False and show["jwks_uri"] is None


def test_the_design_option_names_set_what_the_others_do(db):
    """The contract's names: --tls-subject DN, --tls-san-dns/-uri/-ip/-email VALUE (the SAN with its
    type), --bind-tokens mtls|dpop|none (repeatable: mtls and dpop both; none clears)."""
    cli_ok(["client", "add", "d-dn", "--auth-method", "tls_client_auth",
            "--tls-subject", "CN=d-dn,O=Acme", "--bind-tokens", "mtls"], db=db)
    show = cli_ok(["client", "show", "d-dn"], db=db)
    assert show["tls_subject_dn"] == "CN=d-dn,O=Acme" and show["tls_san"] is None, show
    assert show["cert_bound"] is True and show["dpop_bound"] is False, show
    for kind, value in (("dns", "d.example"), ("uri", "urn:dev:7"), ("ip", "10.0.0.7"),
                        ("email", "d@example.com")):
        cid = "d-" + kind
        cli_ok(["client", "add", cid, "--auth-method", "tls_client_auth",
                "--tls-san-" + kind, value, "--bind-tokens", "dpop"], db=db)
        show = cli_ok(["client", "show", cid], db=db)
        assert show["tls_san"] == kind + ":" + value, show
        assert show["cert_bound"] is False and show["dpop_bound"] is True, show
    cli_ok(["client", "add", "d-both", "--bind-tokens", "mtls", "--bind-tokens", "dpop"], db=db)
    show = cli_ok(["client", "show", "d-both"], db=db)
    assert show["cert_bound"] is True and show["dpop_bound"] is True, show
    cli_ok(["client", "add", "d-none", "--cert-bound", "--bind-tokens", "none"], db=db)
    show = cli_ok(["client", "show", "d-none"], db=db)
    assert show["cert_bound"] is False and show["dpop_bound"] is False, show


def test_each_method_is_shown_back_with_what_it_registered(db):
    cli_ok(["client", "add", "dev-2", "--auth-method", "tls_client_auth",
            "--tls-san", "dns:dev-2.example", "--cert-bound"], db=db)
    cli_ok(["client", "add", "dev-3", "--auth-method", "self_signed_tls_client_auth",
            "--jwks-uri", "https://keys.example/dev-3.json", "--dpop-bound"], db=db)
    cli_ok(["client", "add", "dev-4", "--auth-method", "tls_client_auth",
            "--tls-subject-dn", "CN=dev-4,O=Example"], db=db)
    app = cli_ok(["client", "add", "app", "--auth-method", "none"], db=db)
    svc = cli_ok(["client", "add", "svc"], db=db)
    assert "client_secret" not in app and "client_secret" in svc
    shown = {c["client_id"]: c for c in cli_ok(["client", "list"], db=db)}
    assert shown["dev-2"]["tls_san"] == "dns:dev-2.example" and shown["dev-2"]["cert_bound"]
    assert shown["dev-3"]["jwks_uri"] == "https://keys.example/dev-3.json"
    assert shown["dev-3"]["dpop_bound"] and not shown["dev-3"]["cert_bound"]
    assert shown["dev-4"]["tls_subject_dn"] == "CN=dev-4,O=Example"
    assert shown["app"]["auth_method"] == "none" and shown["app"]["public"] is True
    assert shown["svc"]["auth_method"] == "client_secret_basic"


@pytest.mark.parametrize("args, rc", [
    (["--auth-method", "client_secret_jwt"], 2),              # not offered: a shared secret
    (["--auth-method", "private_key_jwt"], 1),                # no keys
    (["--auth-method", "private_key_jwt", "--jwks-file", "JWKS",
      "--jwks-uri", "https://k.example/j"], 1),                # both
    (["--auth-method", "private_key_jwt", "--jwks-uri", "http://k.example/j"], 1),  # not https
    (["--auth-method", "tls_client_auth"], 1),                # neither DN nor SAN
    (["--auth-method", "tls_client_auth", "--tls-san", "host:x.example"], 1),
    (["--auth-method", "tls_client_auth", "--tls-san", "dns:x", "--tls-subject-dn", "CN=x"], 1),
    (["--jwks-file", "JWKS"], 1),                             # keys with a secret client
    (["--public", "--auth-method", "private_key_jwt", "--jwks-file", "JWKS"], 2),
    (["--auth-method", "private_key_jwt", "--jwks-file", "EMPTY"], 1),
    (["--bind-tokens", "both"], 2),                           # mtls, dpop or none
    (["--auth-method", "self_signed_tls_client_auth", "--cert-file", "JWKS"], 1),  # no PEM
    (["--auth-method", "tls_client_auth", "--tls-san-dns", "x", "--tls-subject", "CN=x"], 1),
])
def test_a_method_without_what_it_needs_is_refused(db, jwks_file, tdir, args, rc):
    empty = os.path.join(tdir, "empty.json")
    with open(empty, "w") as f:
        f.write('{"keys": []}')
    args = [jwks_file if a == "JWKS" else empty if a == "EMPTY" else a for a in args]
    r = run_cli(["client", "add", "bad"] + args, db=db)
    assert r.rc == rc, (r.rc, r.stderr)
    assert r.stdout.strip() == "" and r.stderr.count("\n") == 1, r.stderr
    assert run_cli(["client", "show", "bad"], db=db).rc == 1


def test_a_client_of_another_method_cannot_use_a_secret_or_its_id_alone(server_factory, tdir,
                                                                        jwks_file):
    s = server_factory.new(name="methods")
    s.init()
    s.add_client("dev-5", extra=["--auth-method", "private_key_jwt", "--jwks-file", jwks_file])
    s.add_client("dev-6", extra=["--auth-method", "tls_client_auth", "--tls-san", "dns:d6"])
    s.start()
    for cid in ("dev-5", "dev-6"):
        for client, auth, extra in ((None, "none", [("client_id", cid)]),
                                    (Client(cid, ""), "basic", []),
                                    (Client(cid, "guess"), "post", [])):
            r = s.token(client, auth=auth, extra=extra)
            assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


def test_client_secret_post_names_a_secret_client(server_factory):
    """The contract: client_secret_post is accepted too. It is stored as client_secret_basic,
    whose clients send the secret by Basic or in the body: a secret is made, shown once, and
    authenticates both ways."""
    s = server_factory.new(name="secret-post")
    s.init()
    c = s.add_client("gw-7", scope="telemetry", extra=["--auth-method", "client_secret_post"])
    assert c.secret, "no secret made"
    assert cli_ok(["client", "show", "gw-7"], db=s.db)["auth_method"] == "client_secret_basic"
    s.start()
    for auth in ("basic", "post"):
        r = s.token(c, auth=auth)
        assert r.status_code == 200, (auth, r.text)
