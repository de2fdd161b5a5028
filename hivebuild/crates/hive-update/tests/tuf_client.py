"""python-tuf's client (the TUF reference implementation) against a repository hivebuild
wrote, served over HTTP: refresh, then download one target into a folder.

usage: tuf_client.py ROOT_JSON BASE_URL TARGET_NAME OUT_DIR
"""
import os
import sys
import tempfile

from tuf.ngclient import Updater

root_json, base_url, name, out_dir = sys.argv[1:5]
metadata_dir = tempfile.mkdtemp()
with open(root_json, "rb") as f:
    bootstrap = f.read()
updater = Updater(
    metadata_dir=metadata_dir,
    bootstrap=bootstrap,
    metadata_base_url=base_url + "/metadata/",
    target_base_url=base_url + "/targets/",
    target_dir=out_dir,
)
updater.refresh()
info = updater.get_targetinfo(name)
if info is None:
    sys.exit(f"python-tuf: no target {name}")
path = updater.download_target(info, os.path.join(out_dir, os.path.basename(name)))
print(path)
print(info.custom["version"], info.custom["kind"], info.custom["hardware-id"])
