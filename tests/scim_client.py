"""A small SCIM 2.0 client for the end-to-end tests of Tessera's /scim/v2 API (issue 7; the HTTP
contract is RFC 7643/7644 as Tessera serves it): requests with a bearer token, and the checks
every answer gets (status, application/scim+json, the error body of RFC 7644 §3.12, meta and
the ETag of one resource).

Query strings are built here with %20 for spaces (as the RFC's examples and Entra ID send them),
never with "+"."""
import json
import re
import urllib.parse

import requests

from tessera_harness import http_timeout

SCIM_JSON = "application/scim+json"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
T_USER = "urn:tessera:params:scim:schemas:2.0:User"
T_GROUP = "urn:tessera:params:scim:schemas:2.0:Group"
T_CLIENT = "urn:tessera:params:scim:schemas:2.0:Client"
T_GRANT = "urn:tessera:params:scim:schemas:2.0:Grant"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

ETAG_RE = re.compile(r'^W/"[0-9A-Fa-f]+"$')
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")

# The clients every SCIM test server gets: an administrator (scim, and introspect so that it can
# also ask /introspect about tokens), and a bearer without scim.
ADMIN_CLIENTS = [
    dict(client_id="admin", grants=["client_credentials"], scope="scim introspect"),
    dict(client_id="noscim", grants=["client_credentials"], scope="introspect"),
]
# Large enough for 100 KB attribute values to reach the SCIM layer (invalidValue, not 413).
SCIM_CONFIG = {"server": {"max_body": 262144}}

_UNSET = object()


def qs(**params):
    """?k=v&... with every value percent-encoded (spaces as %20); None values left out."""
    pairs = [(k, v) for k, v in params.items() if v is not None]
    if not pairs:
        return ""
    return "?" + "&".join("%s=%s" % (k, urllib.parse.quote(str(v), safe=""))
                          for k, v in pairs)


def media_type(r):
    return r.headers.get("Content-Type", "").split(";")[0].strip().lower()


def ok(r, status=200):
    """The JSON of a successful SCIM answer with status, after checking its media type."""
    assert r.status_code == status, "expected %s: %s %s %s" % (
        status, r.request.method, r.status_code, r.text[:1500])
    assert media_type(r) == SCIM_JSON, r.headers
    return r.json()


def err(r, status, scim_type=None):
    """The error body of a failed SCIM answer (RFC 7644 §3.12): status, media type, schemas,
    "status" as a string, and scimType exactly (absent when scim_type is None)."""
    assert r.status_code < 500 or status >= 500, "server error %s: %s" % (
        r.status_code, r.text[:1500])
    assert r.status_code == status, "expected %s %s: %s %s %s" % (
        status, scim_type, r.request.method, r.status_code, r.text[:1500])
    assert media_type(r) == SCIM_JSON, r.headers
    body = r.json()
    assert body.get("schemas") == [ERROR], body
    assert body.get("status") == str(status), body
    if scim_type is None:
        assert "scimType" not in body, body
    else:
        assert body.get("scimType") == scim_type, body
    if "detail" in body:
        assert isinstance(body["detail"], str), body
    return body


def no_5xx(r):
    assert r.status_code < 500, "server error %s: %s" % (r.status_code, r.text[:1500])
    return r


def check_meta(srv, res, rtype, endpoint):
    """meta of one resource: resourceType, RFC 3339 UTC times, absolute location, weak version."""
    m = res.get("meta")
    assert isinstance(m, dict), res
    assert m.get("resourceType") == rtype, m
    for k in ("created", "lastModified"):
        assert isinstance(m.get(k), str) and RFC3339_UTC.match(m[k]), (k, m)
    assert m["lastModified"] >= m["created"], m
    assert m.get("location") == srv.url("/scim/v2/%s/%s" % (endpoint, res["id"])), m
    assert isinstance(m.get("version"), str) and ETAG_RE.match(m["version"]), m
    return m


def etag_matches(r, body=None):
    """The ETag header of a one-resource answer equals its meta.version; returns it."""
    body = body if body is not None else r.json()
    e = r.headers.get("ETag")
    assert e is not None, r.headers
    assert e == body["meta"]["version"], (e, body["meta"])
    return e


def patch_body(*ops):
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def op(o, path=None, value=_UNSET):
    d = {"op": o}
    if path is not None:
        d["path"] = path
    if value is not _UNSET:
        d["value"] = value
    return d


class Scim:
    """Requests to srv's /scim/v2 with a bearer token (by default: the admin client's, scope
    "scim")."""

    def __init__(self, srv, token=None, client="admin"):
        self.srv = srv
        if token is None:
            token = srv.access_token(srv.clients[client], scope="scim")
        self.token = token

    def url(self, path):
        return self.srv.url("/scim/v2" + path)

    def request(self, method, path, body=_UNSET, headers=None, data=None,
                ctype=SCIM_JSON, token=_UNSET):
        """method path with body (a JSON value) or data (raw str/bytes); token None: no
        Authorization header at all."""
        token = self.token if token is _UNSET else token
        h = {"Accept": SCIM_JSON}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if body is not _UNSET:
            data = json.dumps(body).encode("utf-8")
        if data is not None and ctype is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        return requests.request(method, self.url(path), data=data, headers=h,
                                timeout=http_timeout(), allow_redirects=False)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=_UNSET, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=_UNSET, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, *ops, **kw):
        return self.request("PATCH", path, patch_body(*ops), **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- conveniences that assert success
    def create_user(self, user_name, **attrs):
        body = {"schemas": [CORE_USER], "userName": user_name}
        body.update(attrs)
        return ok(self.post("/Users", body), 201)

    def create_group(self, display_name, members=(), scope=None, **attrs):
        body = {"schemas": [CORE_GROUP], "displayName": display_name,
                "members": [{"value": m} for m in members]}
        if scope is not None:
            body["schemas"].append(T_GROUP)
            body[T_GROUP] = {"scope": scope}
        body.update(attrs)
        return ok(self.post("/Groups", body), 201)

    def user(self, uid):
        return ok(self.get("/Users/%s" % uid))

    def group(self, gid):
        return ok(self.get("/Groups/%s" % gid))

    def list(self, endpoint, **params):
        """A ListResponse (checked) of GET endpoint?params."""
        body = ok(self.get(endpoint + qs(**params)))
        check_list(body)
        return body

    def find_user(self, user_name):
        """The one user whose userName equals user_name (case-insensitively), or None."""
        body = self.list("/Users", filter='userName eq "%s"' % user_name)
        assert body["totalResults"] in (0, 1), body
        return body["Resources"][0] if body["totalResults"] else None


def check_list(body):
    """The shape of a ListResponse: schemas, integer totalResults/startIndex/itemsPerPage, and
    itemsPerPage Resources (Resources may be left out when there are none)."""
    assert body.get("schemas") == [LIST], body
    for k in ("totalResults", "startIndex", "itemsPerPage"):
        assert isinstance(body.get(k), int) and not isinstance(body.get(k), bool), (k, body)
    res = body.get("Resources", [])
    assert isinstance(res, list), body
    assert body["itemsPerPage"] == len(res), body
    assert len(res) <= body["totalResults"], body
    body.setdefault("Resources", [])
    return body
