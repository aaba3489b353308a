"""dpop_proofs.py URL N OUT - writes N DPoP proofs (RFC 9449) for POST URL, one per line, to OUT:
each with its own jti, all by one ES256 key and made now (tools/bench-dpop.sh sends each once)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dpop_proof import DPoPKey  # noqa: E402

url, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = DPoPKey()
with open(out, "w") as f:
    for _ in range(n):
        f.write(key.proof("POST", url) + "\n")
