"""Rights that change under a live session (issue 21 §1, the plugin's half): with introspection
the plugin enforces the scope Tessera answers — what the token allows now — not the token's own
`scope` claim, and each refreshed answer (plugin_opt_cache_seconds) reaches the session: a
narrowed session can no longer publish or receive outside its new rights, and keeps the rest
(docs/broker.md, "Rights that change"). Tessera's half (what /introspect answers) is
tests/e2e/test_rights.py's.

Black box: a real mosquitto with the plugin, paho clients, rights changed with the CLI
(`tessera grant scope`) and over SCIM (a device client's allowed scope)."""
import re
import time

from mosquitto_harness import CB, broker_opts
from scim_client import ADMIN_CLIENTS, Scim, ok, op
from tessera_harness import cli_ok, code_flow, jwt_parts, t, wait_for

CACHE = 2


def dropped_and_passed(sender, watcher, out_topic, in_topic):
    """sender publishes (QoS 1) on out_topic, then on in_topic; True when watcher got the second
    and not the first (one publisher's messages keep their order)."""
    before = len(watcher.messages)
    sender.publish(out_topic, b"outside", qos=1)
    sender.publish(in_topic, b"inside", qos=1)
    watcher.wait(lambda: in_topic in [m[0] for m in watcher.messages[before:]], within=5)
    with watcher.cond:
        got = list(watcher.messages[before:])
    topics = [m[0] for m in got]
    assert in_topic in topics, (in_topic, got)
    return out_topic not in topics


def wait_rights_changed(b, client_id, since):
    """Waits (CACHE + 3 s, stretched) for the broker's line saying client_id's rights changed;
    returns the seconds it took from `since`."""
    pat = re.compile(r"tessera: rights of %s changed at Tessera" % re.escape(client_id))
    assert wait_for(lambda: pat.search(b.log()), within=CACHE + 3), \
        "no change of rights for %s within %.1f s:\n%s" % (client_id, t(CACHE + 3),
                                                            b.log()[-3000:])
    return time.time() - since


def test_grant_narrowed_with_the_cli_reaches_the_live_session(fresh_factory, broker_factory,
                                                              clients):
    # docs/security.md row (issue 21 §1): a user's grant narrowed with `tessera grant scope`
    # narrows its connected session within the cache time, publishing and receiving
    s = fresh_factory.start(clients=[
        {"client_id": "broker", "scope": "introspect"},
        {"client_id": "sub-all", "scope": "mqtt:sub:#"},
        {"client_id": "pub-all", "scope": "mqtt:pub:#"},
        {"client_id": "app", "grants": ["authorization_code"], "redirect_uris": [CB],
         "scope": "openid mqtt:pubsub:home/${username}/#"},
    ], name="tessera-rights")
    b = broker_factory.start(broker_opts(s, mode="url", introspect=s.clients["broker"],
                                         cache_seconds=CACHE), name="mosq-rights")
    s.add_user("alice", "correct horse battery", scope="mqtt:pubsub:home/${username}/#")
    tok = code_flow(s, s.clients["app"], "alice", "correct horse battery", redirect_uri=CB,
                    scope="mqtt:pubsub:home/alice/#").access_token
    gid = jwt_parts(tok)[1]["gid"]
    alice = b.connect(tok, username="alice")
    watch = b.connect(s.access_token(s.clients["sub-all"]))
    pub = b.connect(s.access_token(s.clients["pub-all"]))
    clients.extend([alice, watch, pub])
    assert watch.subscribe("home/#") == [1]
    assert alice.subscribe("home/alice/#") == [1]
    # before: the whole home both ways
    assert not dropped_and_passed(alice, watch, "home/alice/kitchen", "home/alice/garden/t")
    assert not dropped_and_passed(pub, alice, "home/alice/kitchen", "home/alice/garden/t")

    cli_ok(["grant", "scope", str(gid), "mqtt:pubsub:home/alice/garden/#"], db=s.db)
    took = wait_rights_changed(b, alice.client_id, time.time())
    assert took <= t(CACHE + 3), took
    # after: only the garden; the session itself stays (its token is still active)
    assert dropped_and_passed(alice, watch, "home/alice/kitchen", "home/alice/garden/t")
    assert dropped_and_passed(pub, alice, "home/alice/kitchen", "home/alice/garden/t")
    assert alice.subscribe("home/alice/kitchen/#") == [0x80]
    assert alice.subscribe("home/alice/garden/#") == [1]
    assert alice.connected
    # a new CONNECT with the same token gets the narrowed rights too
    again = b.connect(tok, username="alice", client_id=alice.client_id + ":2")
    clients.append(again)
    assert dropped_and_passed(again, watch, "home/alice/kitchen", "home/alice/garden/u")


def test_device_client_narrowed_over_scim_reaches_the_live_session(fresh_factory,
                                                                   broker_factory, clients):
    # docs/security.md row (issue 21 §1): a device's client-credentials token follows its
    # client's allowed scope at the broker: narrowed, then nothing left (disconnected)
    s = fresh_factory.start(clients=ADMIN_CLIENTS + [
        {"client_id": "broker", "scope": "introspect"},
        {"client_id": "sub-all", "scope": "mqtt:sub:#"},
        {"client_id": "pub-all", "scope": "mqtt:pub:#"},
        {"client_id": "dev9", "scope": "mqtt:pub:dev/${clientid}/# mqtt:sub:cmd/${clientid}/#"},
    ], name="tessera-device")
    api = Scim(s)
    b = broker_factory.start(broker_opts(s, mode="url", introspect=s.clients["broker"],
                                         cache_seconds=CACHE), name="mosq-device")
    tok = s.access_token(s.clients["dev9"])
    dev = b.connect(tok)
    watch = b.connect(s.access_token(s.clients["sub-all"]))
    pub = b.connect(s.access_token(s.clients["pub-all"]))
    clients.extend([dev, watch, pub])
    assert watch.subscribe("dev/#") == [1]
    assert dev.subscribe("cmd/dev9/#") == [1]
    assert not dropped_and_passed(dev, watch, "dev/dev9/temp", "dev/dev9/status")
    assert not dropped_and_passed(pub, dev, "cmd/dev9/other", "cmd/dev9/urgent")

    ok(api.patch("/Clients/dev9", op("replace", "scope", "mqtt:pub:dev/${clientid}/status "
                                     "mqtt:sub:cmd/${clientid}/urgent")))
    took = wait_rights_changed(b, "dev9", time.time())
    assert took <= t(CACHE + 3), took
    assert dropped_and_passed(dev, watch, "dev/dev9/temp", "dev/dev9/status")
    assert dropped_and_passed(pub, dev, "cmd/dev9/other", "cmd/dev9/urgent")
    assert dev.connected

    # nothing of its scope left: the token is inactive, the session is disconnected
    ok(api.patch("/Clients/dev9", op("replace", "scope", "mqtt:sub:elsewhere/#")))
    changed = time.time()
    got = dev.wait_disconnect(within=CACHE + 3)
    assert got is not None, "still connected %.1f s later" % (time.time() - changed)
    assert got[1] != 0, got
    assert re.search(r"tessera: disconnecting dev9: token expired or revoked", b.log())
