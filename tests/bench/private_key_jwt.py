#!/usr/bin/python3
"""private_key_jwt.py JWKS_OUT BODIES_OUT CLIENT_ID AUD N - for tools/bench.sh: makes a device's
ES256 key, writes its public JWK Set to JWKS_OUT (for tessera client add --jwks-file) and N
client-credentials request bodies to BODIES_OUT, each with its own client assertion (RFC 7523:
a distinct jti, since an assertion is accepted once), valid for 5 minutes."""
import base64
import json
import sys
import time
import urllib.parse
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main():
    jwks_out, bodies_out, client_id, aud, n = sys.argv[1:6]
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "bench",
           "x": b64(pub.x.to_bytes(32, "big")), "y": b64(pub.y.to_bytes(32, "big"))}
    with open(jwks_out, "w") as f:
        json.dump({"keys": [jwk]}, f)
    head = b64(json.dumps({"alg": "ES256", "kid": "bench"}).encode())
    now = int(time.time())
    prefix = ("grant_type=client_credentials&client_assertion_type="
              + urllib.parse.quote("urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                   safe="") + "&client_assertion=")
    with open(bodies_out, "w") as f:
        for _ in range(int(n)):
            claims = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now,
                      "exp": now + 290, "jti": uuid.uuid4().hex}
            data = head + "." + b64(json.dumps(claims, separators=(",", ":")).encode())
            r, s = decode_dss_signature(key.sign(data.encode(), ec.ECDSA(hashes.SHA256())))
            sig = b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
            f.write(prefix + data + "." + sig + "\n")


if __name__ == "__main__":
    main()
