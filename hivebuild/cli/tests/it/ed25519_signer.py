"""A stand-in for an HSM/KMS signer: signs stdin with the ed25519 seed in KEYFILE (hex) and
prints the signature in hex. Used by the external-signer test only."""
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

seed = bytes.fromhex(open(sys.argv[1]).read().strip())
print(Ed25519PrivateKey.from_private_bytes(seed).sign(sys.stdin.buffer.read()).hex())
