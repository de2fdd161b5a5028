# The golden derivations (src/golden.rs builds the same ones). `GOLDEN_SRC` is the store path
# of a source folder added with `nix-store --add-fixed --recursive sha256`.
let src = builtins.storePath (builtins.getEnv "GOLDEN_SRC"); in
rec {
  a = derivation { name = "a"; system = "x86_64-linux"; builder = "/bin/sh"; args = ["-c" "echo hi > $out"]; x = "q\"\\\n\ttab"; };
  b = derivation { name = "b"; system = "x86_64-linux"; builder = "/bin/sh"; args = ["-c" "cat ${a} > $out"]; inherit src; requiredSystemFeatures = ["hive-x"]; };
  f = derivation { name = "f"; system = "x86_64-linux"; builder = "/bin/sh"; outputHashMode = "recursive"; outputHashAlgo = "sha256"; outputHash = "0000000000000000000000000000000000000000000000000000"; };
  c = derivation { name = "c"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "${f}" ]; };
}
