"""Mutual TLS (RFC 8705, issue 22 §2), black box: `tls_client_certificates = request` and
`tls_client_ca` in [server]; clients registered with `--auth-method tls_client_auth` (a subject
DN or a SAN) or `self_signed_tls_client_auth` (a JWK Set holding the key or the certificate) and
`--cert-bound`; client certificates made here with openssl (tests/harness_mtls.py) and presented
with Python's ssl through requests. docs/security.md rows 102-105."""
import base64
import json
import shutil
import subprocess

import pytest
import requests

from harness_mtls import ClientPKI, x5t_s256
from tessera_harness import PKI, code_flow, http_timeout, idp_user, make_tempdir, verify_jwt

CB = "https://app.example/cb"
DN = "CN=sensor-17,O=Acme,C=DE"
SAN = "dns:sensor-20.devices.example"


@pytest.fixture(scope="module")
def certs():
    d = make_tempdir("mtls-pki")
    pki = PKI(d)
    c = ClientPKI(d, pki)
    c.right_dn = c.issued("right-dn", "/C=DE/O=Acme/CN=sensor-17")
    c.wrong_dn = c.issued("wrong-dn", "/C=DE/O=Acme/CN=sensor-18")
    c.other_ca_dn = c.issued("other-ca-dn", "/C=DE/O=Acme/CN=sensor-17", ca="other")
    c.right_san = c.issued("right-san", "/CN=whatever", san="DNS:sensor-20.devices.example")
    c.wrong_san = c.issued("wrong-san", "/CN=sensor-20.devices.example",
                           san="DNS:sensor-21.devices.example")
    c.server_only = c.issued("server-only", "/C=DE/O=Acme/CN=sensor-17", eku="serverAuth")
    c.device_a = c.issued("device-a", "/CN=device-a", san="DNS:device-a.example")
    c.device_b = c.issued("device-b", "/CN=device-b", san="DNS:device-b.example")
    c.thermostat = c.self_signed("thermostat", "/CN=thermostat-9")
    c.thermostat_rsa = c.self_signed("thermostat-rsa", "/CN=thermostat-10", kind="rsa")
    c.stranger = c.self_signed("stranger", "/CN=thermostat-9")
    yield c
    shutil.rmtree(d, ignore_errors=True)


def tls_server(server_factory, certs, name, client_certs="request", ca=True):
    server = {"tls_client_certificates": client_certs}
    if ca:
        server["tls_client_ca"] = certs.pki.ca
    s = server_factory.new(config={"server": server}, flags="listen", name=name,
                           tls=certs.pki.ec, ca=certs.pki.ca)
    s.init()
    return s


@pytest.fixture(scope="module")
def srv(server_factory, certs):
    s = tls_server(server_factory, certs, "mtls")
    cc = ["--grant", "client_credentials"]
    s.add_client("sensor-dn", scope="mqtt:pub:sensors/${clientid}/#",
                 extra=cc + ["--auth-method", "tls_client_auth", "--tls-subject-dn", DN])
    s.add_client("sensor-san", scope="mqtt:pub:sensors/${clientid}/#",
                 extra=cc + ["--auth-method", "tls_client_auth", "--tls-san", SAN])
    s.add_client("thermo", scope="mqtt:pub:home/${clientid}/#",
                 extra=cc + ["--auth-method", "self_signed_tls_client_auth", "--jwks-file",
                             certs.jwks_file("thermo", certs.jwk(certs.thermostat),
                                             certs.jwk(certs.thermostat_rsa))])
    s.add_client("thermo-x5c", scope="mqtt:pub:home/${clientid}/#",
                 extra=cc + ["--auth-method", "self_signed_tls_client_auth", "--jwks-file",
                             certs.jwks_file("thermo-x5c", certs.jwk(certs.thermostat,
                                                                     x5c=True, key=False))])
    s.add_client("ref-dev", scope="mqtt:pub:sensors/${clientid}/#",
                 extra=cc + ["--auth-method", "tls_client_auth", "--tls-san",
                             "dns:device-a.example", "--token-format", "reference"])
    s.add_client("bound-secret", scope="mqtt:pub:sensors/${clientid}/# scim",
                 extra=cc + ["--cert-bound"])
    s.add_client("plain", scope="mqtt:pub:sensors/${clientid}/#", extra=cc)
    s.add_client("app", grants=["authorization_code", "refresh_token"], redirect_uris=[CB],
                 scope="openid mqtt:sub:home/${username}/#",
                 extra=["--auth-method", "self_signed_tls_client_auth", "--jwks-file",
                        certs.jwks_file("app", certs.jwk(certs.thermostat),
                                        certs.jwk(certs.thermostat_rsa))])
    # the same registrations under the contract's option names
    s.add_client("d-dn", scope="mqtt:pub:sensors/${clientid}/#",
                 extra=cc + ["--auth-method", "tls_client_auth", "--tls-subject", DN])
    s.add_client("d-san", scope="mqtt:pub:sensors/${clientid}/#",
                 extra=cc + ["--auth-method", "tls_client_auth", "--tls-san-dns",
                             SAN.split(":", 1)[1]])
    s.add_client("d-cert", scope="mqtt:pub:home/${clientid}/#",
                 extra=cc + ["--auth-method", "self_signed_tls_client_auth", "--cert-file",
                             certs.thermostat[0]])
    s.add_client("d-bound", scope="mqtt:pub:sensors/${clientid}/#",
                 extra=cc + ["--bind-tokens", "mtls"])
    s.add_client("broker", scope="introspect")
    return s.start()


def post(srv, path, data, cert=None, auth=None):
    """POST a form to srv over TLS presenting cert ((certificate, key) or None), on a
    connection of its own."""
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if auth:
        h["Authorization"] = auth.basic()
    return requests.post(srv.url(path), data=data, headers=h, cert=cert, verify=srv.verify,
                         timeout=http_timeout(), allow_redirects=False)


def cc_token(srv, client_id, cert, auth=None):
    data = {"grant_type": "client_credentials"}
    if not auth:
        data["client_id"] = client_id
    return post(srv, "/token", data, cert=cert, auth=auth)


def assert_invalid_client(r):
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.json()["error"] == "invalid_client", r.text


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# ---------------------------------------------------------------- tls_client_auth


def test_row102_the_registered_subject_dn_authenticates(srv, certs):
    """docs/security.md row 102: a certificate of the configured CA with the registered subject
    DN authenticates the client; its token is bound to that certificate."""
    r = cc_token(srv, "sensor-dn", certs.right_dn)
    assert r.status_code == 200, r.text
    claims = verify_jwt(r.json()["access_token"], srv.jwks())
    assert claims["client_id"] == "sensor-dn", claims
    assert claims["cnf"] == {"x5t#S256": x5t_s256(certs.right_dn[0])}, claims


def test_row102_wrong_dn_other_ca_no_certificate_are_invalid_client(srv, certs):
    """docs/security.md row 102: another subject DN of the right CA, the right DN from another
    CA of the same name, a certificate not for client use, or no certificate: invalid_client."""
    for cert in (certs.wrong_dn, certs.other_ca_dn, certs.server_only, certs.right_san,
                 certs.thermostat, None):
        assert_invalid_client(cc_token(srv, "sensor-dn", cert))


def test_row102_the_registered_san_authenticates_and_another_does_not(srv, certs):
    """docs/security.md row 102: the registered dNSName SAN; a certificate whose CN (not SAN)
    is that name, or with another SAN, is refused."""
    r = cc_token(srv, "sensor-san", certs.right_san)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["cnf"]["x5t#S256"] == \
        x5t_s256(certs.right_san[0])
    for cert in (certs.wrong_san, certs.right_dn, None):
        assert_invalid_client(cc_token(srv, "sensor-san", cert))


def test_row102_a_certificate_does_not_replace_another_clients_method(srv, certs):
    """docs/security.md row 102: a secret client is not authenticated by a certificate alone,
    and a certificate client is not by a Basic header."""
    assert_invalid_client(cc_token(srv, "plain", certs.right_dn))
    r = cc_token(srv, "plain", certs.right_dn, auth=srv.clients["plain"])
    assert r.status_code == 200, r.text
    assert "cnf" not in jwt_claims(r.json()["access_token"])
    r = post(srv, "/token", {"grant_type": "client_credentials", "client_id": "sensor-dn"},
             cert=certs.right_dn, auth=srv.clients["sensor-dn"])
    assert_invalid_client(r)


# ---------------------------------------------------------------- self_signed_tls_client_auth


def test_row103_a_registered_self_signed_key_authenticates(srv, certs):
    """docs/security.md row 103: the certificate's key is one of the client's JWK Set (EC or
    RSA), or the certificate is the one registered in x5c."""
    for client_id, cert in (("thermo", certs.thermostat), ("thermo", certs.thermostat_rsa),
                            ("thermo-x5c", certs.thermostat)):
        r = cc_token(srv, client_id, cert)
        assert r.status_code == 200, (client_id, cert, r.text)
        assert jwt_claims(r.json()["access_token"])["cnf"]["x5t#S256"] == x5t_s256(cert[0])


def test_row103_an_unregistered_key_is_invalid_client(srv, certs):
    """docs/security.md row 103: a self-signed certificate of the same subject with another
    key, a CA-issued certificate not registered, or none: invalid_client."""
    for client_id in ("thermo", "thermo-x5c"):
        for cert in (certs.stranger, certs.right_dn, None):
            assert_invalid_client(cc_token(srv, client_id, cert))
    assert_invalid_client(cc_token(srv, "thermo-x5c", certs.thermostat_rsa))


def test_rows102_103_the_design_option_names_register_the_same(srv, certs):
    """docs/security.md rows 102-104 with the contract's names: --tls-subject, --tls-san-dns,
    --cert-file (the certificate itself, registered as x5c) and --bind-tokens mtls."""
    for client_id, right, wrong in (("d-dn", certs.right_dn, certs.wrong_dn),
                                    ("d-san", certs.right_san, certs.wrong_san),
                                    ("d-cert", certs.thermostat, certs.stranger)):
        r = cc_token(srv, client_id, right)
        assert r.status_code == 200, (client_id, r.text)
        assert jwt_claims(r.json()["access_token"])["cnf"]["x5t#S256"] == x5t_s256(right[0])
        assert_invalid_client(cc_token(srv, client_id, wrong))
        assert_invalid_client(cc_token(srv, client_id, None))
    # the RSA key of the same device is not the registered certificate
    assert_invalid_client(cc_token(srv, "d-cert", certs.thermostat_rsa))
    bound = srv.clients["d-bound"]
    r = cc_token(srv, "d-bound", certs.device_b, auth=bound)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["cnf"]["x5t#S256"] == x5t_s256(certs.device_b[0])
    r = cc_token(srv, "d-bound", None, auth=bound)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text


# ---------------------------------------------------------------- bound access tokens


def test_row104_bound_tokens_introspect_with_cnf(srv, certs):
    """docs/security.md row 104: cnf.x5t#S256 in /introspect, for a JWT and a reference
    token."""
    jwt = cc_token(srv, "sensor-dn", certs.right_dn).json()["access_token"]
    r = srv.introspect(srv.clients["broker"], jwt)
    assert r.json()["active"] is True, r.text
    assert r.json()["cnf"] == {"x5t#S256": x5t_s256(certs.right_dn[0])}, r.text
    r = cc_token(srv, "ref-dev", certs.device_a)
    assert r.status_code == 200, r.text
    ref = r.json()["access_token"]
    assert ref.count(".") == 0 and len(ref) <= 64, ref
    r = srv.introspect(srv.clients["broker"], ref)
    assert r.json()["active"] is True, r.text
    assert r.json()["cnf"] == {"x5t#S256": x5t_s256(certs.device_a[0])}, r.text
    # an unbound token has none
    plain = srv.access_token(srv.clients["plain"])
    assert "cnf" not in srv.introspect(srv.clients["broker"], plain).json()


def test_row104_a_cert_bound_client_needs_a_certificate(srv, certs):
    """docs/security.md row 104: a client registered with --cert-bound (and a secret) gets
    tokens bound to the certificate it connected with, and invalid_request without one."""
    c = srv.clients["bound-secret"]
    r = cc_token(srv, c.id, certs.device_a, auth=c)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["cnf"]["x5t#S256"] == \
        x5t_s256(certs.device_a[0])
    r = cc_token(srv, c.id, None, auth=c)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text


def get(srv, path, token, cert):
    return requests.get(srv.url(path), headers={"Authorization": "Bearer " + token},
                        cert=cert, verify=srv.verify, timeout=http_timeout())


def test_row104_scim_with_a_bound_token_needs_the_same_certificate(srv, certs):
    """docs/security.md row 104: /scim/v2 takes a bound token only over a connection with its
    certificate."""
    c = srv.clients["bound-secret"]
    token = cc_token(srv, c.id, certs.device_a, auth=c).json()["access_token"]
    assert get(srv, "/scim/v2/Users", token, certs.device_a).status_code == 200
    for cert in (certs.device_b, None):
        r = get(srv, "/scim/v2/Users", token, cert)
        assert r.status_code == 401, (cert, r.status_code, r.text)


def code_login(srv, certs, cert):
    """A user's code flow with client app (self_signed_tls_client_auth with two keys), redeemed
    over cert: the tokens."""
    u, pw, _ = idp_user(srv)
    login = code_flow(srv, srv.clients["app"], u, pw, redirect_uri=CB,
                      scope="openid", redeem=False)
    r = post(srv, "/token", {"grant_type": "authorization_code", "code": login.code,
                             "redirect_uri": CB, "code_verifier": login.pkce.verifier,
                             "client_id": "app"}, cert=cert)
    assert r.status_code == 200, r.text
    return r.json()


def test_row104_userinfo_with_a_bound_token_needs_the_same_certificate(srv, certs):
    """docs/security.md row 104: /userinfo answers a bound token over a connection with its
    certificate, and 401 over one with another certificate (of the same CA) or none."""
    tokens = code_login(srv, certs, certs.thermostat)
    at = tokens["access_token"]
    assert jwt_claims(at)["cnf"]["x5t#S256"] == x5t_s256(certs.thermostat[0])
    assert get(srv, "/userinfo", at, certs.thermostat).status_code == 200
    # the client's other registered key, another device, none
    for cert in (certs.thermostat_rsa, certs.device_b, None):
        r = get(srv, "/userinfo", at, cert)
        assert r.status_code == 401, (cert, r.status_code, r.text)
        assert "invalid_token" in r.headers.get("WWW-Authenticate", ""), r.headers


# ---------------------------------------------------------------- bound refresh tokens


def refresh(srv, rt, cert, client_id="app"):
    return post(srv, "/token", {"grant_type": "refresh_token", "refresh_token": rt,
                                "client_id": client_id}, cert=cert)


def test_row105_a_bound_refresh_token_over_another_certificate_is_invalid_grant(srv, certs):
    """docs/security.md row 105: a refresh token issued over the certificate of one of the
    client's two registered keys is invalid_grant over the other's (which authenticates the
    client), and over its own it still works afterwards: the refusal used nothing up nor
    revoked anything. Its successor is bound to the same certificate."""
    rt = code_login(srv, certs, certs.thermostat)["refresh_token"]
    r = refresh(srv, rt, certs.thermostat_rsa)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    assert "certificate" in r.json().get("error_description", ""), r.text
    assert_invalid_client(refresh(srv, rt, None))
    r = refresh(srv, rt, certs.thermostat)
    assert r.status_code == 200, r.text
    body = r.json()
    assert jwt_claims(body["access_token"])["cnf"]["x5t#S256"] == x5t_s256(certs.thermostat[0])
    rt2 = body.get("refresh_token", rt)
    r = refresh(srv, rt2, certs.thermostat_rsa)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    assert refresh(srv, rt2, certs.thermostat).status_code == 200


def test_row105_bound_refresh_token_of_a_secret_client_over_another_certificate(
        server_factory, certs):
    """docs/security.md row 105: a --cert-bound client that authenticates with its secret (so
    both requests authenticate): its refresh token from device-a's connection is invalid_grant
    over device-b's and works over device-a's."""
    s = tls_server(server_factory, certs, "mtls-rt")
    c = s.add_client("bound-app", grants=["authorization_code", "refresh_token"],
                     redirect_uris=[CB], scope="openid", extra=["--cert-bound"])
    s.start()
    u, pw, _ = idp_user(s)
    login = code_flow(s, c, u, pw, redirect_uri=CB, scope="openid", redeem=False)
    r = post(s, "/token", {"grant_type": "authorization_code", "code": login.code,
                           "redirect_uri": CB, "code_verifier": login.pkce.verifier},
             cert=certs.device_a, auth=c)
    assert r.status_code == 200, r.text
    rt = r.json()["refresh_token"]
    r = post(s, "/token", {"grant_type": "refresh_token", "refresh_token": rt},
             cert=certs.device_b, auth=c)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    assert "certificate" in r.json().get("error_description", ""), r.text
    r = post(s, "/token", {"grant_type": "refresh_token", "refresh_token": rt},
             cert=certs.device_a, auth=c)
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- discovery and configuration


def test_discovery_says_what_mutual_tls_gives(srv, server_factory, certs):
    d = srv.get("/.well-known/oauth-authorization-server").json()
    assert d["tls_client_certificate_bound_access_tokens"] is True, d
    for k in ("token_endpoint_auth_methods_supported",
              "introspection_endpoint_auth_methods_supported"):
        assert "tls_client_auth" in d[k] and "self_signed_tls_client_auth" in d[k], d
    assert "mtls_endpoint_aliases" not in d, d
    # without client certificates asked for: none of it
    s = server_factory.new(flags="listen", name="no-mtls", tls=certs.pki.ec, ca=certs.pki.ca)
    s.start()
    d = s.get("/.well-known/oauth-authorization-server").json()
    assert "tls_client_certificate_bound_access_tokens" not in d, d
    assert "tls_client_auth" not in d["token_endpoint_auth_methods_supported"], d
    # asked for without a CA: only the self-signed method
    s = tls_server(server_factory, certs, "mtls-self", ca=False)
    s.start()
    d = s.get("/.well-known/oauth-authorization-server").json()
    assert d["token_endpoint_auth_methods_supported"][-1] == "self_signed_tls_client_auth", d
    assert "tls_client_auth" not in d["token_endpoint_auth_methods_supported"], d


def test_misconfigurations_stop_the_daemon_with_a_reason(server_factory, certs):
    cases = [
        ({"tls_client_certificates": "request"}, None, "needs TLS"),
        ({"tls_client_ca": certs.pki.ca}, certs.pki.ec, "tls_client_certificates = request"),
        ({"tls_client_certificates": "request", "tls_client_ca": "/nonexistent/ca.pem"},
         certs.pki.ec, "/nonexistent/ca.pem"),
        ({"tls_client_certificates": "sometimes"}, certs.pki.ec, "tls_client_certificates"),
    ]
    for i, (server, tls, words) in enumerate(cases):
        s = server_factory.new(config={"server": server}, flags="listen", name="bad-%d" % i,
                               tls=tls, ca=certs.pki.ca if tls else None)
        s.init()
        with pytest.raises(AssertionError):
            s.start()
        assert words in s.stderr(), (server, s.stderr())
        s.proc = None


# ---------------------------------------------------------------- other TLS stacks as peers


def test_row102_curl_and_gnutls_cli_present_client_certificates(srv, certs):
    """docs/security.md row 102: curl and gnutls-cli (GnuTLS, which picks the
    certificate it sends from the server's request: none is named, so it sends its own)
    authenticate sensor-dn with its certificate; gnutls-cli with another gets 401."""
    body = "grant_type=client_credentials&client_id=sensor-dn"
    p = subprocess.run(["curl", "-sS", "--cacert", certs.pki.ca, "--cert", certs.right_dn[0],
                        "--key", certs.right_dn[1], "--data", body, srv.url("/token")],
                       capture_output=True, text=True, timeout=http_timeout())
    assert p.returncode == 0, p.stderr
    assert jwt_claims(json.loads(p.stdout)["access_token"])["cnf"]["x5t#S256"] == \
        x5t_s256(certs.right_dn[0]), p.stdout

    def gnutls(cert):
        req = ("POST /token HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
               % (srv.port, len(body), body))
        p = subprocess.run(["gnutls-cli", "--x509cafile", certs.pki.ca, "--x509certfile",
                            cert[0], "--x509keyfile", cert[1], "-p", str(srv.port),
                            "--logfile=/dev/null", "127.0.0.1"],
                           input=req, capture_output=True, text=True,
                           timeout=http_timeout())
        return p.stdout
    out = gnutls(certs.right_dn)
    assert "HTTP/1.1 200" in out and '"access_token"' in out, out
    out = gnutls(certs.wrong_dn)
    assert "HTTP/1.1 401" in out, out
