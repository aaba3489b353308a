"""A broker that cannot verify tokens must not start: mosquitto exits non-zero at once with a
"tessera:" log line (docs/broker.md, "Configuration")."""
import re

import pytest

from tessera_harness import free_port


def _missing_file(srv, d):
    return [("issuer", srv.issuer), ("jwks_file", d + "/no-such-jwks.json")]


def _garbage_file(srv, d):
    with open(d + "/garbage.json", "w") as f:
        f.write("this is not a JWKS\n")
    return [("issuer", srv.issuer), ("jwks_file", d + "/garbage.json")]


def _empty_keyset(srv, d):
    with open(d + "/empty.json", "w") as f:
        f.write('{"keys": []}\n')
    return [("issuer", srv.issuer), ("jwks_file", d + "/empty.json")]


BAD = {
    "no-issuer": lambda s, d: [("jwks_url", s.url("/jwks")), ("audience", "mqtt")],
    "no-jwks-source": lambda s, d: [("issuer", s.issuer), ("audience", "mqtt")],
    "jwks-file-missing": _missing_file,
    "jwks-file-not-json": _garbage_file,
    "jwks-file-no-keys": _empty_keyset,
    "jwks-url-unreachable": lambda s, d: [("issuer", s.issuer),
                                          ("jwks_url", "http://127.0.0.1:%d/jwks" % free_port())],
    "client-id-rule-unknown": lambda s, d: [("issuer", s.issuer), ("jwks_url", s.url("/jwks")),
                                            ("client_id_rule", "loose")],
    "introspect-url-without-credentials": lambda s, d: [
        ("issuer", s.issuer), ("jwks_url", s.url("/jwks")),
        ("introspect_url", s.url("/introspect"))],
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_misconfigured_broker_exits_nonzero_with_tessera_log_line(srv, broker_factory, case):
    b = broker_factory.new([], name="mosq-bad")
    b.opts = BAD[case](srv, b.dir)
    rc = b.start_expecting_exit(within=8)
    log = b.log()
    assert rc != 0, "%s: mosquitto exited 0\nlog:\n%s" % (case, log)
    assert rc > 0, "%s: mosquitto died of signal %d\nlog:\n%s" % (case, -rc, log)
    # a line whose message (after mosquitto's "HH:MM:SS: " stamp) starts with "tessera:"
    assert re.search(r"^(\S+: )?tessera: \S", log, re.M), \
        "%s: no line starting with tessera: in\n%s" % (case, log)
