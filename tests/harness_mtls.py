"""Client certificates for the mutual TLS tests (RFC 8705), made with the openssl command: the
test CA's (tests/harness_daemon.py PKI) with a subject and subjectAltNames, another CA's, and
self-signed ones with their JWK Sets (the key itself, or the certificate in x5c)."""
import base64
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness_daemon import openssl


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def x5t_s256(cert_path):
    """The x5t#S256 of a PEM certificate file: base64url of the SHA-256 of its DER."""
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return b64url(cert.fingerprint(hashes.SHA256()))


class ClientPKI:
    """Client certificates in directory d: those of pki's CA (tests' PKI: ca.pem, ca.key),
    those of a second CA of the same name ("other"), and self-signed ones. Each is a
    (certificate file, key file) pair, as requests' cert= and paho's tls_set take them."""

    def __init__(self, d, pki):
        self.dir = d
        self.pki = pki
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2",
                "-subj", "/CN=Tessera test CA", cwd=d)
        self.other_ca = os.path.join(d, "other-ca.pem")

    def path(self, name):
        return os.path.join(self.dir, name)

    def issued(self, name, subject, san=None, ca="ca", eku="clientAuth"):
        """A certificate of CA ca ("ca": the test CA, "other": the second one)."""
        ext = ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature"]
        if eku:
            ext.append("extendedKeyUsage=" + eku)
        if san:
            ext.append("subjectAltName=" + san)
        with open(self.path(name + ".ext"), "w") as f:
            f.write("\n".join(ext) + "\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject, cwd=self.dir)
        if ca == "ca":
            ca_cert, ca_key = self.pki.ca, self.pki.path("ca.key")
        else:
            ca_cert, ca_key = self.other_ca, self.path("other-ca.key")
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca_cert, "-CAkey", ca_key,
                "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out",
                name + ".pem", cwd=self.dir)
        return self.path(name + ".pem"), self.path(name + ".key")

    def self_signed(self, name, subject, kind="ec"):
        newkey = (["-newkey", "rsa:2048"] if kind == "rsa" else
                  ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        openssl("req", "-x509", *newkey, "-nodes", "-keyout", name + ".key", "-out",
                name + ".pem", "-days", "2", "-subj", subject, "-addext",
                "extendedKeyUsage=clientAuth", cwd=self.dir)
        return self.path(name + ".pem"), self.path(name + ".key")

    @staticmethod
    def jwk(pair, x5c=False, key=True):
        """The public JWK of the pair's key (key=True), with the certificate as x5c."""
        with open(pair[0], "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        pub = cert.public_key()
        jwk = {"kid": b64url(cert.fingerprint(hashes.SHA256()))[:8]}
        if key and isinstance(pub, ec.EllipticCurvePublicKey):
            n = pub.public_numbers()
            jwk.update(kty="EC", crv="P-256", x=b64url(n.x.to_bytes(32, "big")),
                       y=b64url(n.y.to_bytes(32, "big")))
        elif key and isinstance(pub, rsa.RSAPublicKey):
            n = pub.public_numbers()
            jwk.update(kty="RSA", n=b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                       e=b64url(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big")))
        else:
            jwk["kty"] = "EC"
        if x5c:
            jwk["x5c"] = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER))
                          .decode("ascii")]
        return jwk

    def jwks_file(self, name, *jwks):
        p = self.path(name + ".jwks.json")
        with open(p, "w") as f:
            json.dump({"keys": list(jwks)}, f)
        return p
