"""Interop with python-tuf, TUF's reference implementation.

    tuf_interop.py verify ROOT.json TARGETS.json   # python-tuf checks what hivebuild wrote
    tuf_interop.py write DIR                        # python-tuf writes root.json, targets.json
"""
import sys
from datetime import datetime, timedelta, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, Root, Targets, TargetFile
from tuf.api.serialization.json import JSONSerializer


def verify(root_path, targets_path):
    root = Metadata[Root].from_file(root_path)
    root.verify_delegate(Root.type, root)
    targets = Metadata[Targets].from_file(targets_path)
    root.verify_delegate(Targets.type, targets)
    now = datetime.now(timezone.utc)
    assert not root.signed.is_expired(now), "root expired"
    assert not targets.signed.is_expired(now), "targets expired"
    for name, target in targets.signed.targets.items():
        print(f"target {name} {target.length} {target.hashes['sha256']}")
    print(f"ok root v{root.signed.version} targets v{targets.signed.version}")


def write(directory):
    signer = CryptoSigner.generate_ed25519()
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    root = Metadata(Root(expires=expires))
    for role in ["root", "targets", "snapshot", "timestamp"]:
        root.signed.add_key(signer.public_key, role)
    root.sign(signer)
    target = TargetFile(length=5, hashes={"sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
                        path="hello.txt", unrecognized_fields={"custom": {"from": "python-tuf"}})
    targets = Metadata(Targets(expires=expires, targets={"hello.txt": target}))
    targets.sign(signer)
    root.to_file(f"{directory}/root.json", JSONSerializer(compact=False))
    targets.to_file(f"{directory}/targets.json", JSONSerializer(compact=False))
    print("written")


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
