"""login.py BASE_URL CLIENT_ID REDIRECT_URI USERNAME PASSWORD SCOPE CHALLENGE

Signs USERNAME in through Tessera's login page and approves the consent page, as a browser
would, then prints the session cookie (NAME=VALUE) that later /authorize requests can carry to
get codes without any page. Used by tools/bench.sh to mint codes for the redemption benchmark."""
import html
import re
import sys

import requests

base, client, redirect, user, password, scope, challenge = sys.argv[1:8]
query = {"response_type": "code", "client_id": client, "redirect_uri": redirect, "scope": scope,
         "code_challenge": challenge, "code_challenge_method": "S256"}
s = requests.Session()


def form(page):
    fields = {k: html.unescape(v) for k, v in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}
    fields["csrf"] = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return fields


r = s.get(base + "/authorize", params=query, allow_redirects=False, timeout=10)
if r.status_code == 200 and 'action="/login"' in r.text:
    f = form(r.text)
    f.update(username=user, password=password)
    r = s.post(base + "/login", data=f, allow_redirects=False, timeout=10)
    r = s.get(r.headers["Location"], allow_redirects=False, timeout=10)
if r.status_code == 200 and 'action="/consent"' in r.text:
    f = form(r.text)
    f["decision"] = "allow"
    r = s.post(base + "/consent", data=f, allow_redirects=False, timeout=10)
if r.status_code != 303 or "code=" not in r.headers.get("Location", ""):
    sys.exit("login.py: no code came back: %d %s" % (r.status_code, r.text[:200]))
for c in s.cookies:
    if c.name.endswith("tessera_session"):
        print("%s=%s" % (c.name, c.value))
