{
  description = "Hive, an operating system for AI agents, and hivebuild, the tool that builds it";

  # No inputs: everything here evaluates and builds offline with the host's tools (Debian's
  # Nix, no nixpkgs). A flake that has nixpkgs gets a nixpkgs-built hivebuild from
  # `lib.withNixpkgs pkgs` (docs/nix.md).
  outputs = { self }:
    let
      inherit (builtins)
        attrNames attrValues concatStringsSep dirOf elem filter foldl' hashString
        listToAttrs map mapAttrs stringLength substring toJSON;

      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: listToAttrs (map (system: { name = system; value = f system; }) systems);

      # The host's tools, let into the sandbox with `extra-sandbox-paths` (docs/nix.md).
      hostPath = "/usr/local/bin:/usr/bin:/bin";

      # The crates of Cargo.lock, vendored: a fixed-output derivation (`cargo vendor` needs
      # the network, which Nix gives fixed outputs only). `vendorHash` is the NAR hash of
      # `cargo vendor --locked` of this Cargo.lock; a test keeps it so.
      vendorHash = "086gnbyd6dnbj522s7pdpgxqy2mgi1yb30gjd23zc52wnyfa5ha5";
      vendor = system: derivation {
        name = "hivebuild-vendor";
        inherit system;
        builder = "/bin/sh";
        args = [ "-c" ''
          set -e
          export PATH=${hostPath} HOME=$TMPDIR CARGO_HOME=$TMPDIR/cargo
          cp ${self}/Cargo.toml ${self}/Cargo.lock .
          cp -r ${self}/hivebuild ${self}/components .
          cargo vendor --locked --versioned-dirs $out >/dev/null
        '' ];
        outputHashMode = "recursive";
        outputHashAlgo = "sha256";
        outputHash = vendorHash;
      };

      # hivebuild, built offline against the vendored crates with the host's cargo.
      hivebuild = system: derivation {
        name = "hivebuild";
        inherit system;
        builder = "/bin/sh";
        vendor = vendor system;
        src = self;
        args = [ "-c" ''
          set -e
          export PATH=${hostPath} HOME=$TMPDIR CARGO_HOME=$TMPDIR/cargo
          mkdir -p $CARGO_HOME
          printf '[source.crates-io]\nreplace-with = "vendored"\n[source.vendored]\ndirectory = "%s"\n' "$vendor" > $CARGO_HOME/config.toml
          cp -r $src src && chmod -R u+w src && cd src
          cargo build --release --offline --locked -p hivebuild
          mkdir -p $out/bin && cp target/release/hivebuild $out/bin/
        '' ];
      };

      # The shell to work on Hive in: the host's tools on PATH (`nix develop`; `outputs` and a
      # bash builder are what `nix develop` needs).
      devShell = system: derivation {
        name = "hive-dev-shell";
        inherit system;
        builder = "/bin/bash";
        args = [ "-c" "echo 'the Hive development shell' > $out" ];
        outputs = [ "out" ];
        PATH = hostPath;
        HIVEBUILD_ENGINE = "native";
      };

      # A hive's build as derivations, from `hivebuild plan --format json`: the derivations
      # `hivebuild --engine nix` writes, with the same `.drv` paths (tested).
      #
      #   plan       builtins.fromJSON of `hivebuild plan MANIFEST --target T --format json`
      #   settings   `settings` of `hivebuild --json builder-conf MANIFEST --target T`
      #   src        the project folder the plan was made in (`self`, or `./.`)
      #   hivebuild  the hivebuild executable that runs steps (a store path)
      #   assets     NAR hashes of boot-asset steps' outputs, by step name (none in most hives)
      #
      # Returns one derivation per step, by step name.
      mkHive = { plan, settings, src, hivebuild, assets ? { } }:
        let
          root = settings.root;
          relative = p:
            let n = stringLength root; in
            if substring 0 (n + 1) p == root + "/"
            then substring (n + 1) (stringLength p) p
            else throw "source folder `${p}` is not under the project folder `${root}`";
          # As hivebuild copies a source: without `target` and hidden entries.
          isSource = path: type:
            let name = baseNameOf path; in substring 0 1 name != "." && name != "target";
          source = name: p: builtins.path {
            name = "source-${name}";
            path = src + "/${relative p}";
            filter = isSource;
          };
          # The folders of the step's tools, then the system's.
          stepPath = step:
            let
              dirs = foldl' (acc: d: if elem d acc then acc else acc ++ [ d ]) [ ]
                (map dirOf (attrValues step.programs));
            in
            concatStringsSep ":"
              (dirs ++ filter (d: !(elem d dirs)) [ "/usr/local/bin" "/usr/bin" "/bin" ]);
          feature = step: "hive-toolchain-" + substring 0 16 (hashString "sha256" (toJSON step.toolchain));
          stripSha = h: if substring 0 7 h == "sha256:" then substring 7 (stringLength h) h else h;
          fixed = step:
            if step.kind.kind == "fetch" then stripSha step.kind.locked."nar-hash"
            else if step.kind.kind == "asset" then
              stripSha (assets.${step.name} or (throw "give the NAR hash of asset step `${step.name}` in `assets`"))
            else null;
          add = done: step:
            let
              fetches = elem step.kind.kind [ "fetch" "asset" ];
              sources = mapAttrs
                (name: input: if input.type == "path" then input // { path = "${source name input.path}"; } else input)
                step.sources;
              spec = {
                format = 1;
                step = step // { inherit sources; };
                deps = listToAttrs (map (d: { name = d; value = "${done.${d}}"; }) step.deps);
                source-date-epoch = settings.source-date-epoch;
                path = stepPath step;
                cargo-home = settings.cargo-home;
                rustup-home = settings.rustup-home;
                rustup-toolchain = settings.rustup-toolchain;
                home = settings.home;
                offline = !fetches;
              };
              hash = fixed step;
              drv = derivation ({
                name = step.name;
                system = settings.system;
                builder = "${hivebuild}";
                args = [ "step-exec" ];
                hiveStepExec = toJSON spec;
                passAsFile = [ "hiveStepExec" ];
              }
              // (if step.toolchain == { } then { } else { requiredSystemFeatures = [ (feature step) ]; })
              // (if hash == null then { } else {
                outputHashMode = "recursive";
                outputHashAlgo = "sha256";
                outputHash = hash;
              }));
            in
            done // { ${step.name} = drv; };
        in
        foldl' add { } plan.steps;
    in
    {
      lib = {
        inherit mkHive;
        # hivebuild built with nixpkgs' Rust, for a flake that has nixpkgs as an input.
        withNixpkgs = pkgs: {
          hivebuild = pkgs.rustPlatform.buildRustPackage {
            pname = "hivebuild";
            version = "0.1.0";
            src = self;
            cargoLock.lockFile = ./Cargo.lock;
            cargoBuildFlags = [ "-p" "hivebuild" ];
            doCheck = false;
          };
        };
      };
      packages = forAllSystems (system: {
        hivebuild = hivebuild system;
        default = hivebuild system;
      });
      devShells = forAllSystems (system: { default = devShell system; });
    };
}
