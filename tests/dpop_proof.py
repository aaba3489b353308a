"""DPoP proofs (RFC 9449 §4) for the tests, made with python3-cryptography, independently of the
daemon: a key pair, its public JWK and RFC 7638 thumbprint, and proofs that can be bent in every
way a test needs (another typ, alg, key, jwk, iat, missing claims)."""
import base64
import hashlib
import hmac
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _int_b64u(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(length, "big"))


def ath(access_token):
    """base64url(SHA-256(access token)), the proof's ath."""
    return b64u(hashlib.sha256(access_token.encode("ascii")).digest())


class DPoPKey:
    """A proof key: "ES256" (P-256) or "RS256" (RSA 2048)."""

    def __init__(self, alg="ES256"):
        self.alg = alg
        if alg == "ES256":
            self.key = ec.generate_private_key(ec.SECP256R1())
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self, private=False):
        if self.alg == "ES256":
            pub = self.key.public_key().public_numbers()
            j = {"kty": "EC", "crv": "P-256", "x": _int_b64u(pub.x, 32),
                 "y": _int_b64u(pub.y, 32)}
            if private:
                j["d"] = _int_b64u(self.key.private_numbers().private_value, 32)
        else:
            pub = self.key.public_key().public_numbers()
            j = {"kty": "RSA", "n": _int_b64u(pub.n), "e": _int_b64u(pub.e)}
            if private:
                j["d"] = _int_b64u(self.key.private_numbers().d)
        return j

    def jkt(self):
        """The RFC 7638 thumbprint of the public key."""
        j = self.jwk()
        members = ("crv", "kty", "x", "y") if j["kty"] == "EC" else ("e", "kty", "n")
        text = json.dumps({k: j[k] for k in members}, separators=(",", ":"), sort_keys=True)
        return b64u(hashlib.sha256(text.encode("ascii")).digest())

    def sign(self, signing_input):
        if self.alg == "ES256":
            r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())

    def proof(self, htm, htu, access_token=None, nonce=None, iat=None, jti=None, typ="dpop+jwt",
              alg=None, jwk=None, header_extra=None, claims_extra=None, drop=(), signer=None):
        """A compact proof for htm and htu. jwk: the header's key (default this key's public
        JWK); signer: the key that signs (default this one); drop: claims to leave out."""
        header = {"typ": typ, "alg": alg or self.alg, "jwk": jwk if jwk is not None else self.jwk()}
        header.update(header_extra or {})
        claims = {"jti": jti or secrets.token_urlsafe(16), "htm": htm, "htu": htu,
                  "iat": int(time.time()) if iat is None else iat}
        if access_token is not None:
            claims["ath"] = ath(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(claims_extra or {})
        for k in drop:
            claims.pop(k, None)
        si = (b64u(json.dumps(header)) + "." + b64u(json.dumps(claims))).encode("ascii")
        if header["alg"] == "none":
            return si.decode("ascii") + "."
        if header["alg"] == "HS256":
            # keyed with the public JWK's text, the classic confusion
            sig = hmac.new(json.dumps(header["jwk"]).encode(), si, hashlib.sha256).digest()
        else:
            sig = (signer or self).sign(si)
        return si.decode("ascii") + "." + b64u(sig)
