"""What the SCIM end-to-end suites share (test_scim.py, test_scim_resources.py): the clients of
their server, the fixtures that start it (one server per module, SCIM_CONFIG raising max_body so
that 100 KB values reach the SCIM layer), and helpers that make users and log them in."""
import time
import urllib.parse

import pytest

from scim_client import (ADMIN_CLIENTS, CLIENT_ID_RE, CORE_GROUP, CORE_USER, ENTERPRISE,
                         ETAG_RE, PATCH_OP, RESOURCE_TYPE, SCHEMA, SCIM_CONFIG, SCIM_JSON, SPC,
                         T_CLIENT, T_GRANT, T_GROUP, T_USER, Scim, check_list, check_meta, err,
                         etag_matches, media_type, no_5xx, ok, op, patch_body, qs)
from tessera_harness import (INACTIVE, Client, Page, UserAgent, auth_request, code_flow,
                             jwt_parts, new_username, PKCE, sign_jwt, signing_key_from_db,
                             token_error, token_ok, wait_for)

CB = "https://rp.example/cb"
APP_SCOPE = "openid profile email mqtt:sub:u/${username}/# mqtt:pub:g/#"
PW = "correct horse battery staple"
CLIENTS = ADMIN_CLIENTS + [
    dict(client_id="admin-off", grants=["client_credentials"], scope="scim"),
    dict(client_id="app", grants=["authorization_code", "refresh_token"], redirect_uris=[CB],
         scope=APP_SCOPE, name="App"),
]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=SCIM_CONFIG, clients=CLIENTS, name="scim")


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


def uname(prefix="s"):
    return new_username(prefix)


def words(s):
    return set((s or "").split())


def intro(srv, tok):
    return srv.introspection(srv.clients["admin"], tok)


def login(srv, user, password=PW, scope="openid profile email"):
    """The code flow with the client app for user: the token answer."""
    return code_flow(srv, srv.clients["app"], user, password, redirect_uri=CB,
                     scope=scope).tokens


def login_refused(srv, user, password=PW):
    """True when the login page refuses user/password (401 and the login form again)."""
    r = UserAgent(srv).run(auth_request("app", CB, scope="openid", pkce=PKCE()),
                           username=user, password=password)
    return r.status_code == 401 and Page(r).has_form("/login")


def subset(want, got, where="$"):
    """Every member of want is in got with an equal value (recursively; lists element-wise)."""
    if isinstance(want, dict):
        assert isinstance(got, dict), (where, want, got)
        for k, v in want.items():
            assert k in got, (where + "." + k, got)
            subset(v, got[k], where + "." + k)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, want, got)
        for i, (a, b) in enumerate(zip(want, got)):
            subset(a, b, "%s[%d]" % (where, i))
    else:
        assert want == got, (where, want, got)


def user_body(name, password=PW, manager=None):
    """Every User attribute docs/scim.md lists, with values in the style of RFC 7643 §8.2."""
    body = {
        "schemas": [CORE_USER, ENTERPRISE, T_USER],
        "userName": name,
        "externalId": "Ext-" + name,
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
                 "givenName": "Barbara", "middleName": "Jane", "honorificPrefix": "Ms.",
                 "honorificSuffix": "III"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": True,
        "password": password,
        "emails": [{"value": name + "@home.example", "type": "home"},
                   {"value": name + "@work.example", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "tel:+1-201-555-0123", "type": "work"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F",
                    "type": "photo"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza",
                       "locality": "Hollywood", "region": "CA", "postalCode": "91608",
                       "country": "US", "primary": True}],
        "entitlements": [{"value": "vpn"}],
        "roles": [{"value": "student"}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
        ENTERPRISE: {"employeeNumber": "701984", "costCenter": "4130",
                     "organization": "Universal Studios", "division": "Theme Park",
                     "department": "Tour Operations"},
        T_USER: {"scope": "mqtt:sub:u/${username}/#"},
    }
    if manager is not None:
        body[ENTERPRISE]["manager"] = {"value": manager}   # displayName is readOnly
    return body


def simple_user(api, prefix="s", password=PW, **attrs):
    """A new user (userName, a work email, a password): its SCIM representation."""
    name = uname(prefix)
    a = {"password": password, "displayName": "User " + name,
         "emails": [{"value": name + "@work.example", "type": "work", "primary": True}]}
    a.update(attrs)
    return api.create_user(name, **a)
