"""`tessera serve --tls-cert FILE --tls-key FILE`: https with a test CA made here with openssl.

A flow and an introspection over https with the CA verified; HSTS; discovery and the default
issuer in https; plain http refused on the TLS port; TLS 1.2 and 1.3 only, AEAD ciphers with
ECDHE only (an EC and an RSA certificate); curl and node connecting; Secure __Host- cookies;
every bad certificate or key stopping the daemon at start with a clear line; the key's PEM text
gone from the daemon's memory once GnuTLS has parsed it."""
import base64
import concurrent.futures
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import warnings

import pytest
import requests

from tessera_harness import (BIN, PKCE, PKI, UserAgent, auth_request, code_flow, device_flow,
                             free_port, idp_user, is_login_page, make_tempdir, parse_set_cookie,
                             redirect_params, set_cookie_headers, t, verify_jwt)

HSTS = "max-age=31536000"
WEB_CB = "https://app.example/cb"


@pytest.fixture(scope="module")
def pki():
    d = make_tempdir("tls-pki")
    yield PKI(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def srv(server_factory, pki):
    """An https daemon with the EC certificate, its issuer left to the default."""
    s = server_factory.new(flags="listen", name="tls", tls=pki.ec, ca=pki.ca)
    s.init()
    s.add_client("sensor-1", scope="mqtt:pub:sensors/${clientid}/#")
    s.add_client("broker-1", scope="introspect")
    s.add_client("web", public=True, grants=["authorization_code"], redirect_uris=[WEB_CB],
                 scope="openid")
    s.add_client("app", grants=["authorization_code", "refresh_token"], redirect_uris=[WEB_CB],
                 scope="openid mqtt:sub:home/${username}/#")
    s.add_client("tv", grants=["device_code"], scope="mqtt:sub:home/${username}/#")
    return s.start()


@pytest.fixture(scope="module")
def rsa_srv(server_factory, pki):
    """An https daemon with the RSA certificate, given as [server] tls_cert / tls_key."""
    s = server_factory.new(config={"server": {"tls_cert": pki.rsa[0], "tls_key": pki.rsa[1]}},
                           flags="listen", name="tls-rsa", tls=pki.rsa, ca=pki.ca)
    s.tls_flags = False
    s.init()
    return s.start()


def handshake(port, minv=None, maxv=None, ciphers=None, ca=None):
    """A TLS handshake with 127.0.0.1:port from Python's ssl (OpenSSL): (version, cipher) or the
    exception. ciphers: an OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are all AEAD)."""
    ctx = ssl.create_default_context(cafile=ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1 and TLSv1_1 on purpose
        if minv:
            ctx.minimum_version = minv
        if maxv:
            ctx.maximum_version = maxv
    if ciphers:
        ctx.set_ciphers(ciphers)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=t(5)) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                return s.version(), s.cipher()[0]
    except (ssl.SSLError, OSError) as e:
        return e


def assert_refused_by_server(result, what):
    """The handshake failed, and on the server's side: the client did send its hello (OpenSSL
    says "no protocols available" or "no ciphers available" when it could not)."""
    assert isinstance(result, Exception), "%s was accepted: %r" % (what, result)
    text = str(result).upper()
    assert "NO_PROTOCOLS_AVAILABLE" not in text and "NO_CIPHERS_AVAILABLE" not in text, \
        "the client could not even offer %s: %r" % (what, result)


# ---------------------------------------------------------------- https, issuer, discovery


def test_default_issuer_is_https_and_discovery_follows_it(srv):
    assert srv.base.startswith("https://")
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        r = srv.get(path)
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["issuer"] == "https://127.0.0.1:%d" % srv.port, d
        urls = {k: v for k, v in d.items() if k.endswith("_endpoint") or k == "jwks_uri"}
        assert len(urls) >= 7, d
        for k, v in urls.items():
            assert v.startswith(d["issuer"] + "/"), (k, v)
    assert "(https), issuer https://127.0.0.1:%d" % srv.port in srv.stderr()


def test_client_credentials_and_introspection_over_https(srv):
    r = srv.token(srv.clients["sensor-1"])
    assert r.status_code == 200, r.text
    assert r.headers.get("Strict-Transport-Security") == HSTS, r.headers
    token = r.json()["access_token"]
    claims = verify_jwt(token, srv.jwks())
    assert claims["iss"] == srv.issuer and claims["iss"].startswith("https://"), claims
    assert claims["scope"] == "mqtt:pub:sensors/sensor-1/#", claims
    r = srv.introspect(srv.clients["broker-1"], token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["active"] is True and body["iss"] == srv.issuer, body
    assert r.headers.get("Strict-Transport-Security") == HSTS, r.headers


@pytest.mark.parametrize("path,status", [("/healthz", 200), ("/jwks", 200), ("/nope", 404),
                                          ("/authorize?client_id=nobody", 400),
                                          ("/static/style.css", 200)])
def test_hsts_on_every_kind_of_reply(srv, path, status):
    r = srv.get(path)
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers.get("Strict-Transport-Security") == HSTS, r.headers


def test_hsts_on_errors_and_scim(srv):
    r = srv.post("/token", {"grant_type": "client_credentials", "client_id": "sensor-1",
                            "client_secret": "wrong"})
    assert r.status_code == 401, r.text
    assert r.headers.get("Strict-Transport-Security") == HSTS, r.headers
    r = srv.get("/scim/v2/Users")
    assert r.status_code == 401, r.text
    assert r.headers.get("Strict-Transport-Security") == HSTS, r.headers


def test_plain_http_issuer_has_no_hsts(server_factory):
    s = server_factory.start(name="plain")
    r = s.get("/healthz")
    assert r.status_code == 200 and "Strict-Transport-Security" not in r.headers, r.headers


def test_https_issuer_behind_a_proxy_sends_hsts(server_factory):
    """Plain http to a TLS-terminating proxy whose public URL is the issuer: HSTS as well."""
    s = server_factory.new(flags="listen", name="proxied")
    s.init()
    s.start(extra_args=["--issuer", "https://auth.example"])
    r = s.get("/healthz")
    assert r.headers.get("Strict-Transport-Security") == HSTS, r.headers
    assert s.get("/.well-known/openid-configuration").json()["token_endpoint"] == \
        "https://auth.example/token"


def test_plain_http_to_the_tls_port_gets_no_http_answer(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=t(5)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        got = b""
        try:
            while len(got) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    assert not got.startswith(b"HTTP/"), got[:200]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://127.0.0.1:%d/healthz" % srv.port, timeout=t(5))
    assert srv.get("/healthz").status_code == 200   # and https still works


def test_certificate_not_trusted_without_the_ca(srv):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(srv.url("/healthz"), timeout=t(5))


# ---------------------------------------------------------------- protocol versions, ciphers


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_old_tls_versions_refused(srv, pki, version):
    v = getattr(ssl.TLSVersion, version)
    # SECLEVEL=0 lets this client offer what it would refuse itself
    r = handshake(srv.port, v, v, ciphers="DEFAULT:@SECLEVEL=0", ca=pki.ca)
    assert_refused_by_server(r, version)


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_tls_1_2_and_1_3_accepted_with_aead(srv, pki, version):
    v = getattr(ssl.TLSVersion, version)
    r = handshake(srv.port, v, v, ca=pki.ca)
    assert not isinstance(r, Exception), r
    got, cipher = r
    assert got == version.replace("_", "."), r
    assert "GCM" in cipher or "CHACHA20" in cipher, r
    if version == "TLSv1_2":
        assert cipher.startswith("ECDHE-ECDSA-"), r


# TLS 1.2 suites that must be refused: CBC with SHA-1 or SHA-2 MACs (not AEAD)
EC_WEAK = {
    "cbc-sha1": "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA",
    "cbc-sha2": "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384",
}
# with an RSA certificate, also static RSA key exchange and finite-field DHE
RSA_WEAK = {
    "cbc-sha1": "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA",
    "rsa-kx-gcm (no forward secrecy)": "AES128-GCM-SHA256:AES256-GCM-SHA384",
    "dhe": "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305",
}


@pytest.mark.parametrize("name", sorted(EC_WEAK))
def test_weak_tls12_ciphers_refused_ec(srv, pki, name):
    v = ssl.TLSVersion.TLSv1_2
    assert_refused_by_server(handshake(srv.port, v, v, ciphers=EC_WEAK[name], ca=pki.ca), name)


def test_rsa_certificate_from_config(rsa_srv, pki):
    v = ssl.TLSVersion.TLSv1_2
    got = handshake(rsa_srv.port, v, v, ca=pki.ca)
    assert not isinstance(got, Exception), got
    assert got[0] == "TLSv1.2" and got[1].startswith("ECDHE-RSA-") and "GCM" in got[1], got
    got = handshake(rsa_srv.port, ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3, ca=pki.ca)
    assert not isinstance(got, Exception) and got[0] == "TLSv1.3", got
    for name, ciphers in sorted(RSA_WEAK.items()):
        assert_refused_by_server(handshake(rsa_srv.port, v, v, ciphers=ciphers, ca=pki.ca),
                                 name)
    assert rsa_srv.get("/healthz").headers.get("Strict-Transport-Security") == HSTS


def test_curl_and_node_connect(srv, pki):
    url = srv.url("/healthz")
    p = subprocess.run(["curl", "-sS", "--cacert", pki.ca, "-o", "/dev/null", "-w",
                        "%{http_code} %{ssl_verify_result}", url], capture_output=True,
                       text=True, timeout=t(20))
    assert p.returncode == 0 and p.stdout == "200 0", (p.stdout, p.stderr)
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is needed (the interop tests use it too)"
    script = ("const https=require('https'),fs=require('fs');"
              "https.get(process.argv[1],{ca:fs.readFileSync(process.argv[2])},r=>{"
              "console.log(JSON.stringify({status:r.statusCode,"
              "proto:r.socket.getProtocol(),cipher:r.socket.getCipher().name}));r.resume();})"
              ".on('error',e=>{console.error(e.message);process.exit(1);});")
    p = subprocess.run([node, "-e", script, url, pki.ca], capture_output=True, text=True,
                       timeout=t(20))
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["status"] == 200 and got["proto"] == "TLSv1.3", got


# GnuTLS's own client offers what OpenSSL 3 no longer can (3DES, RC4)
GNUTLS_REFUSED = {
    "tls1.1": "NORMAL:-VERS-ALL:+VERS-TLS1.1",
    "3des-cbc": "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+3DES-CBC:+SHA1",
    "rc4": "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+ARCFOUR-128:+SHA1",
    "aes-cbc-sha1": "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:+SHA1",
    "tls1.3-ccm (not in the list)": "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-CCM",
}


def gnutls_cli(port, ca, priority):
    p = subprocess.run(["gnutls-cli", "--x509cafile", ca, "--priority", priority, "-p",
                        str(port), "127.0.0.1"], input="", capture_output=True, text=True,
                       timeout=t(20))
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize("name", sorted(GNUTLS_REFUSED))
def test_gnutls_client_weak_offers_refused(srv, pki, name):
    rc, out = gnutls_cli(srv.port, pki.ca, GNUTLS_REFUSED[name])
    assert rc != 0 and "- Description:" not in out, out
    # refused by the server, after the client sent its hello (not a priority it could not set)
    assert "Syntax error" not in out and "No or insufficient priorities" not in out, out


def test_gnutls_client_default_gets_tls13_ecdhe_aead(srv, pki):
    rc, out = gnutls_cli(srv.port, pki.ca, "NORMAL")
    assert rc == 0, out
    d = re.search(r"- Description: (\S+)", out)
    assert d and d.group(1).startswith("(TLS1.3-X.509)-(ECDHE-"), out
    assert d.group(1).endswith("-(AES-256-GCM)") or d.group(1).endswith("-(CHACHA20-POLY1305)"), \
        out


# ---------------------------------------------------------------- cookies over https


def cookie(r, name):
    for raw in set_cookie_headers(r):
        n, v, attrs = parse_set_cookie(raw)
        if n == name:
            return v, attrs
    return None, None


def test_login_cookies_are_secure_host_prefixed_and_the_flow_completes(srv):
    u, pw, _ = idp_user(srv, scope="")
    a = UserAgent(srv)
    pkce = PKCE()
    r = a.authorize(auth_request("web", WEB_CB, pkce=pkce))
    assert is_login_page(r), (r.status_code, r.text[:300])
    v, attrs = cookie(r, "__Host-tessera_csrf")
    assert v and attrs.get("secure") is True and attrs.get("path") == "/", \
        set_cookie_headers(r)
    assert "domain" not in attrs and cookie(r, "tessera_csrf") == (None, None)
    r = a.login(r, u, pw)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    v, attrs = cookie(r, "__Host-tessera_session")
    assert v and attrs.get("secure") is True and attrs.get("httponly") is True, \
        set_cookie_headers(r)
    r = a.follow(r)
    if r.status_code == 200:
        r = a.consent(r, "allow")
    q = redirect_params(r)
    assert q["iss"] == srv.issuer, q
    tr = srv.redeem(srv.clients["web"], q["code"], pkce.verifier, WEB_CB)
    assert tr.status_code == 200, tr.text
    assert tr.headers.get("Strict-Transport-Security") == HSTS


def test_writes_answered_after_their_commit_over_https(srv):
    """Code redemption, refresh rotation and device-code redemption are answered once the
    writer has committed (the connection suspended, then resumed): over TLS as well, from
    several clients at once, on kept-alive connections."""
    app, tv = srv.clients["app"], srv.clients["tv"]

    def one(_):
        u, pw, _id = idp_user(srv)
        login = code_flow(srv, app, u, pw, redirect_uri=WEB_CB, scope="openid")
        rt = login.tokens["refresh_token"]
        with requests.Session() as sess:
            for _ in range(5):
                r = srv.refresh(app, rt, session=sess)
                assert r.status_code == 200, r.text
                assert r.headers.get("Strict-Transport-Security") == HSTS
                rt = r.json().get("refresh_token", rt)
        return u

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        assert len(set(ex.map(one, range(4)))) == 4
    lg = device_flow(srv, tv)
    r = srv.device_poll(tv, lg.device_code)
    assert r.status_code == 200, r.text
    claims = verify_jwt(r.json()["access_token"], srv.jwks())
    assert claims["scope"] == "mqtt:sub:home/%s/#" % lg.user[0], claims


# ---------------------------------------------------------------- the key in memory


def test_key_pem_text_is_wiped_after_start(srv, pki):
    """The daemon read the key file into a buffer and wiped it once GnuTLS had parsed the key:
    the file's text (its armour and lines with their newlines) is nowhere in its memory. (The
    parsed key lives on in GnuTLS, as it must; GnuTLS's own base64 decoding also leaves a copy
    of the body without newlines in freed memory, which is out of our hands.)"""
    with open(pki.ec[1]) as f:
        lines = f.read().splitlines()
    needles = [("KEY-----\n%s\n" % lines[1]).encode()] + \
              [("%s\n" % line).encode() for line in lines[2:-1]]
    # the control: the certificate, which GnuTLS keeps (DER) to send in every handshake, must be
    # found, or the scan did not read where the allocations are
    with open(pki.ec[0]) as f:
        der = base64.b64decode("".join(x for x in f.read().splitlines() if "-----" not in x))
    control = der[100:164]
    seen_control = False
    found = []
    pid = srv.proc.pid
    chunk, overlap = 4 << 20, 256
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for m in maps:
            f = m.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            # unreadable, the kernel's, or a sanitizer's reserved shadow (terabytes, not data)
            if "r" not in f[1] or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")) or \
                    hi - lo > (1 << 30):
                continue
            prev = b""
            for at in range(lo, hi, chunk):
                try:
                    mem.seek(at)
                    data = prev + mem.read(min(chunk, hi - at))
                except (OSError, OverflowError, ValueError):
                    prev = b""
                    continue   # pages without backing
                found += [(n, f[5] if len(f) > 5 else f[0]) for n in needles if n in data]
                seen_control = seen_control or control in data
                prev = data[-overlap:]
    assert seen_control, "the scan never found the certificate GnuTLS holds"
    assert not found, "the key's PEM text is still in the daemon's memory: %r" % (found,)


# ---------------------------------------------------------------- refusing to start


def serve_fails(tdir, args):
    """Runs serve with args on a free port; it must stop at once: (exit code, stderr)."""
    argv = [BIN, "serve", "--db", os.path.join(tdir, "t.db"), "--listen",
            "127.0.0.1:%d" % free_port()] + args
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=t(20))
    except subprocess.TimeoutExpired:
        raise AssertionError("serve %r did not stop" % (args,))
    return p.returncode, p.stderr


BAD_STARTS = {
    "missing cert": (lambda k: ["--tls-cert", k.path("none.pem"), "--tls-key", k.ec[1]], 1,
                     "cannot read the TLS certificate %(dir)s/none.pem: No such file"),
    "missing key": (lambda k: ["--tls-cert", k.ec[0], "--tls-key", k.path("none.key")], 1,
                    "cannot read the TLS key %(dir)s/none.key: No such file"),
    "key of another certificate": (lambda k: ["--tls-cert", k.ec[0], "--tls-key",
                                              k.path("other.key")], 1,
                                   "certificate and the given key do not match"),
    "rsa key for the ec certificate": (lambda k: ["--tls-cert", k.ec[0], "--tls-key",
                                                  k.rsa[1]], 1, "do not match"),
    "certificate as key": (lambda k: ["--tls-cert", k.ec[0], "--tls-key", k.ec[0]], 1,
                           "the TLS key %(dir)s/ec.pem holds no PEM private key"),
    "key as certificate": (lambda k: ["--tls-cert", k.ec[1], "--tls-key", k.ec[1]], 1,
                           "the TLS certificate %(dir)s/ec.key holds no valid PEM certificate"),
    "encrypted key": (lambda k: ["--tls-cert", k.ec[0], "--tls-key", k.path("encrypted.key")],
                      1, "the TLS key %(dir)s/encrypted.key is encrypted"),
    "directory as key": (lambda k: ["--tls-cert", k.ec[0], "--tls-key", k.dir], 1,
                         "is not a regular file"),
    "cert without key": (lambda k: ["--tls-cert", k.ec[0]], 2,
                         "TLS needs both a certificate and a key"),
    "key without cert": (lambda k: ["--tls-key", k.ec[1]], 2,
                         "TLS needs both a certificate and a key"),
    "http issuer": (lambda k: ["--tls-cert", k.ec[0], "--tls-key", k.ec[1], "--issuer",
                               "http://127.0.0.1:1"], 2, "issuer must be an https:// URL"),
}


@pytest.mark.parametrize("case", sorted(BAD_STARTS))
def test_bad_tls_files_stop_the_daemon_with_a_clear_line(pki, tdir, case):
    args, rc, words = BAD_STARTS[case]
    code, err = serve_fails(tdir, args(pki))
    assert code == rc, (code, err)
    assert words % {"dir": pki.dir} in err, err
    assert "listening" not in err, err


def test_empty_cert_file_is_named(pki, tdir):
    empty = os.path.join(tdir, "empty.pem")
    open(empty, "w").close()
    code, err = serve_fails(tdir, ["--tls-cert", empty, "--tls-key", pki.ec[1]])
    assert code == 1 and "the TLS certificate %s is empty" % empty in err, (code, err)
