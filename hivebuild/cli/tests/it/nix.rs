//! The store's NAR hashes are the ones Nix computes for the same trees.

use std::process::Command;

use crate::sshd::Sshd;
use crate::support::{BUILD_TOOLS, Project, have, ok};

#[test]
fn nix_nar_hashes_match_nix_hash() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("nix-hash");
    if !have("nix_nar_hashes_match_nix_hash", &tools) {
        return;
    }
    let project = Project::new();
    ok(&mut project.hivebuild(&[
        "-q",
        "build",
        "manifests/standins.toml",
        "--target",
        "x86_64",
    ]));
    let listing: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&mut project.hivebuild(&["--json", "store", "ls"]))).unwrap();
    assert_eq!(listing.len(), 7);
    for entry in listing {
        let path = entry["path"].as_str().unwrap();
        let nix = ok(Command::new("nix-hash").args(["--type", "sha256", "--base32", path]));
        assert_eq!(
            format!("sha256:{}", nix.trim()),
            entry["nar-hash"].as_str().unwrap(),
            "{path}"
        );
    }
}

/// Every step's output path and NAR hash, from a `--json build`'s events (`nix-hash` of the
/// path), by step name; and how many steps were built.
pub(crate) fn outputs(stdout: &str) -> (std::collections::BTreeMap<String, String>, usize) {
    let events = crate::support::events(stdout);
    let built = crate::support::steps_with(&events, "built").len();
    let hashes = events
        .iter()
        .filter(|e| e["event"] == "built" || e["event"] == "cached")
        .map(|e| {
            let path = e["path"].as_str().unwrap();
            let nix = ok(Command::new("nix-hash").args(["--type", "sha256", "--base32", path]));
            (
                e["step"].as_str().unwrap().to_owned(),
                format!("sha256:{}", nix.trim()),
            )
        })
        .collect();
    (hashes, built)
}

/// `--engine nix` on the stand-ins hive, in a chroot store of the test's own: every step is a
/// derivation Nix builds, its output has the native engine's bytes, and a second run builds
/// nothing.
#[test]
fn the_nix_engine_builds_the_native_engines_bytes_and_then_nothing() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["nix-store", "nix-hash"]);
    if !have(
        "the_nix_engine_builds_the_native_engines_bytes_and_then_nothing",
        &tools,
    ) {
        return;
    }
    let project = Project::new();
    let args = [
        "--json",
        "build",
        "manifests/standins.toml",
        "--target",
        "x86_64",
    ];
    let (native, built) = outputs(&ok(&mut project.hivebuild(&args)));
    assert_eq!(built, 7);

    let nix_store = project.root().join("nix");
    let nix_store = nix_store.to_str().unwrap();
    let with_nix = |args: &[&str]| {
        let mut all = vec!["--engine", "nix", "--nix-store", nix_store];
        all.extend(args);
        project.hivebuild(&all)
    };
    let (nix, built) = outputs(&ok(&mut with_nix(&args)));
    assert_eq!(built, 7, "every step is built by Nix");
    assert_eq!(nix, native, "step by step, the same NAR hashes");
    for step in nix.keys() {
        let drvs = std::fs::read_dir(project.root().join("nix/nix/store"))
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .ends_with(&format!("-{step}.drv"))
            })
            .count();
        assert_eq!(drvs, 1, "one derivation for `{step}`");
    }

    // The outputs are Nix GC roots: a garbage collection keeps them.
    ok(Command::new("nix-store").args([
        "--store",
        nix_store,
        "--option",
        "build-users-group",
        "",
        "--gc",
    ]));
    let (again, built) = outputs(&ok(&mut with_nix(&args)));
    assert_eq!(built, 0, "the second run builds nothing");
    assert_eq!(again, native);

    // `image` follows the engine: the same image, byte for byte.
    let image = |engine: &[&str], out: &str| {
        let out = project.root().join(out);
        let mut command = project.hivebuild(engine);
        ok(command
            .args([
                "-q",
                "image",
                "manifests/standins.toml",
                "--target",
                "x86_64",
                "-o",
            ])
            .arg(&out));
        std::fs::read(out.join("demo-x86_64.img")).unwrap()
    };
    let from_nix = image(&["--engine", "nix", "--nix-store", nix_store], "image-nix");
    assert!(
        image(&[], "image-native") == from_nix,
        "the Nix engine's image is the native engine's"
    );
}

/// `build --check --engine nix`: Nix builds every step again (`nix-store --realise --check`);
/// a step that stamps its output with the time and a random number is named, with the file.
#[test]
fn the_nix_engine_checks_that_steps_build_the_same_twice() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.push("nix-store");
    if !have(
        "the_nix_engine_checks_that_steps_build_the_same_twice",
        &tools,
    ) {
        return;
    }
    let project = crate::support::noisy_project();
    let nix_store = project.root().join("nix");
    let check = |manifest: &str| {
        project
            .hivebuild(&["--engine", "nix", "--nix-store"])
            .arg(&nix_store)
            .args(["build", manifest, "--target", "x86_64", "--check"])
            .output()
            .unwrap()
    };
    crate::support::assert_noisy_steps_differ(&check("manifests/noisy.toml"));
    crate::support::assert_success(&check("manifests/standins.toml"));
}

/// `--builders` with `--max-jobs 0`: every step is built by a "remote" Nix reached through a
/// local sshd (`ssh-ng://`, a second store of its own), configured from `builder-conf`; the
/// outputs come back byte-identical to a local native build.
#[test]
fn remote_builders_build_the_steps_with_the_same_bytes() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["nix-store", "nix-hash", "ssh", "ssh-keygen"]);
    if !have(
        "remote_builders_build_the_steps_with_the_same_bytes",
        &tools,
    ) {
        return;
    }
    if let Some(missing) = Sshd::missing() {
        let message =
            format!("remote_builders_build_the_steps_with_the_same_bytes: did not run: {missing}");
        assert!(
            std::env::var_os("HIVEBUILD_REQUIRE_TOOLS").is_none(),
            "{message}"
        );
        eprintln!("{message}");
        return;
    }
    let project = Project::new();
    let manifest = ["manifests/standins.toml", "--target", "x86_64"];
    let (native, _) = outputs(&ok(
        &mut project.hivebuild(&[&["--json", "build"][..], &manifest].concat())
    ));

    let sshd = Sshd::start();
    let needs: serde_json::Value = serde_json::from_str(&ok(
        &mut project.hivebuild(&[&["--json", "builder-conf"][..], &manifest].concat())
    ))
    .unwrap();
    let builders = sshd.builder(&needs);
    let remote_store = sshd.remote_store();
    let nix_store = project.root().join("nix");
    let (remote, built) = outputs(&ok(project
        .hivebuild(&["--engine", "nix", "--nix-store"])
        .arg(&nix_store)
        .args([
            "--max-jobs",
            "0",
            "--builders",
            &builders,
            "--json",
            "build",
        ])
        .args(manifest)
        .env("NIX_SSHOPTS", sshd.ssh_opts())));
    assert_eq!(built, 7);
    assert_eq!(remote, native, "step by step, the same NAR hashes");
    // Built there: the remote store holds every output.
    let there: Vec<String> = std::fs::read_dir(remote_store.join("nix/store"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for step in native.keys() {
        assert!(
            there.iter().any(|name| name.ends_with(&format!("-{step}"))),
            "`{step}` was built on the remote: {there:?}"
        );
    }
}

/// A folder cache: `cache push` fills it from one Nix store, signed; `cache pull` fills an
/// empty store (and an empty hivebuild store) from it with nothing built; a key the cache did
/// not sign with is refused.
#[test]
fn a_folder_cache_fills_an_empty_store_with_nothing_rebuilt() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["nix-store", "nix", "nix-hash"]);
    if !have(
        "a_folder_cache_fills_an_empty_store_with_nothing_rebuilt",
        &tools,
    ) {
        return;
    }
    let project = Project::new();
    let root = project.root();
    let manifest = ["manifests/standins.toml", "--target", "x86_64"];
    let key: serde_json::Value = serde_json::from_str(&ok(&mut project.hivebuild(&[
        "--json",
        "cache",
        "key",
        "--name",
        "hive-test-1",
        "--out",
        root.join("cache-key").to_str().unwrap(),
    ])))
    .unwrap();
    let trusted = key["key"].as_str().unwrap().trim().to_owned();
    let cache = format!("file://{}", root.join("cache").display());
    ok(project
        .hivebuild(&["--engine", "nix", "--nix-store"])
        .arg(root.join("nix-a"))
        .args(["cache", "push", &cache])
        .args(manifest)
        .arg("--sign-key")
        .arg(root.join("cache-key.secret")));
    let narinfos = std::fs::read_dir(root.join("cache"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".narinfo"))
        .count();
    assert!(narinfos >= 7, "the cache holds every output: {narinfos}");

    let pull = |key: &str| {
        crate::support::hivebuild()
            .current_dir(root)
            .arg("--store")
            .arg(root.join("store-b"))
            .args(["--engine", "nix", "--nix-store"])
            .arg(root.join("nix-b"))
            .args(["--json", "--trusted-key", key, "cache", "pull", &cache])
            .args(manifest)
            .output()
            .unwrap()
    };
    let refused = pull("someone-else-1:jy+T1v6WDjZnKJP7ep9CRN1WdIJKVlkOYqUzwBEN9qk=");
    assert!(
        !refused.status.success(),
        "outputs signed by another key are not taken"
    );

    let pulled = pull(&trusted);
    crate::support::assert_success(&pulled);
    let stdout = String::from_utf8_lossy(&pulled.stdout);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    assert!(
        crate::support::steps_with(&events, "built").is_empty(),
        "nothing is built: {stdout}"
    );
    assert_eq!(
        crate::support::steps_with(&events, "substituted").len(),
        7,
        "every output comes from the cache: {stdout}"
    );
}

/// The `.drv` files in a chroot Nix store.
fn drv_files(nix_store: &std::path::Path) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(nix_store.join("nix/store"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            std::path::Path::new(name)
                .extension()
                .is_some_and(|e| e == "drv")
        })
        .map(|name| format!("/nix/store/{name}"))
        .collect()
}

/// `plan.json` (`hivebuild plan --format json`) and `conf.json` (`hivebuild --json
/// builder-conf`) in the project folder: what `lib.mkHive` takes.
fn write_plan_and_settings(project: &Project, manifest: &[&str]) {
    let plan =
        ok(&mut project.hivebuild(&[&["plan"][..], manifest, &["--format", "json"]].concat()));
    std::fs::write(project.root().join("plan.json"), plan).unwrap();
    let conf = ok(&mut project.hivebuild(&[&["--json", "builder-conf"][..], manifest].concat()));
    std::fs::write(project.root().join("conf.json"), conf).unwrap();
}

/// `nix` with flakes on a chroot store in `dir`, offline: no substituter, and an empty flake
/// registry (written into `dir`) so that nothing is looked up.
fn flake_nix(dir: &std::path::Path) -> Command {
    let registry = dir.join("registry.json");
    std::fs::write(&registry, r#"{"flakes":[],"version":2}"#).unwrap();
    let mut command = Command::new("nix");
    command
        .args(["--extra-experimental-features", "nix-command flakes"])
        .arg("--store")
        .arg(dir.join("nix"))
        .args(["--option", "build-users-group", ""])
        .args(["--option", "substituters", ""])
        .arg("--option")
        .arg("flake-registry")
        .arg(&registry);
    command
}

/// `lib.mkHive` of `flake.nix`, given `hivebuild plan --format json`, the settings of
/// `builder-conf` and the same hivebuild binary, gives exactly the derivations (the same `.drv`
/// paths) `--engine nix` wrote.
#[test]
fn lib_mkhive_gives_the_derivations_of_the_nix_engine() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["nix-store", "nix-instantiate"]);
    if !have("lib_mkhive_gives_the_derivations_of_the_nix_engine", &tools) {
        return;
    }
    let project = Project::new();
    let root = project.root();
    let nix_store = root.join("nix");
    let manifest = ["manifests/standins.toml", "--target", "x86_64"];
    ok(project
        .hivebuild(&["-q", "--engine", "nix", "--nix-store"])
        .arg(&nix_store)
        .arg("build")
        .args(manifest));
    let engine_drvs = drv_files(&nix_store);
    assert_eq!(engine_drvs.len(), 7);
    write_plan_and_settings(&project, &manifest);
    let hivebuild = std::fs::read_dir(nix_store.join("nix/store"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.ends_with("-hivebuild"))
        .unwrap();
    let flake = crate::support::repo().join("flake.nix");
    let expression = format!(
        "let hive = ((import {flake}).outputs {{ self = {{ }}; }}).lib; in \
         builtins.attrValues (hive.mkHive {{ \
           plan = builtins.fromJSON (builtins.readFile {root}/plan.json); \
           settings = (builtins.fromJSON (builtins.readFile {root}/conf.json)).settings; \
           src = {root}; \
           hivebuild = builtins.storePath \"/nix/store/{hivebuild}\"; }})",
        flake = flake.display(),
        root = root.display(),
    );
    let instantiated = ok(Command::new("nix-instantiate")
        .arg("--store")
        .arg(&nix_store)
        .args(["--option", "build-users-group", "", "--expr", &expression]));
    let mut ours: Vec<&str> = instantiated.lines().collect();
    ours.sort_unstable();
    let engine: Vec<&str> = engine_drvs.iter().map(String::as_str).collect();
    assert_eq!(ours, engine, "the same .drv paths");
    assert_eq!(
        drv_files(&nix_store),
        engine_drvs,
        "no other derivation was written"
    );
}

/// `flake.nix` with no inputs: `nix flake check` passes offline (no registry, no substituter),
/// its packages and shell evaluate, `nix develop` opens the shell, and `vendorHash` is the NAR
/// hash of `cargo vendor` of this `Cargo.lock` (cargo downloads from crates.io what this
/// machine lacks; the registry is reachable in CI).
#[test]
fn the_flake_checks_offline_and_vendors_this_lock_file() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["nix", "nix-hash", "git"]);
    if !have(
        "the_flake_checks_offline_and_vendors_this_lock_file",
        &tools,
    ) {
        return;
    }
    let repo = crate::support::repo();
    let dir = tempfile::tempdir().unwrap();
    let nix = |args: &[&str]| {
        let mut command = flake_nix(dir.path());
        command
            .args(["--option", "extra-sandbox-paths", "/bin /usr /lib /lib64"])
            .args(args);
        command
    };
    let flake = repo.to_str().unwrap();
    ok(&mut nix(&["flake", "check", flake]));
    for output in [
        "packages.x86_64-linux.hivebuild.drvPath",
        "devShells.x86_64-linux.default.drvPath",
    ] {
        let drv = ok(&mut nix(&["eval", "--raw", &format!("{flake}#{output}")]));
        assert!(
            std::path::Path::new(&drv)
                .extension()
                .is_some_and(|e| e == "drv"),
            "{output}: {drv}"
        );
    }
    let shell = ok(&mut nix(&[
        "develop",
        flake,
        "-c",
        "sh",
        "-c",
        "echo engine=$HIVEBUILD_ENGINE",
    ]));
    assert_eq!(shell.trim(), "engine=native");

    let vendored = dir.path().join("vendor");
    ok(Command::new("cargo")
        .args(["vendor", "--locked", "--versioned-dirs", "--manifest-path"])
        .arg(repo.join("Cargo.toml"))
        .arg(&vendored));
    let hash = ok(Command::new("nix-hash")
        .args(["--type", "sha256", "--base32"])
        .arg(&vendored));
    let text = std::fs::read_to_string(repo.join("flake.nix")).unwrap();
    assert!(
        text.contains(&format!("vendorHash = \"{}\";", hash.trim())),
        "flake.nix's vendorHash must be {} (Cargo.lock changed: update it)",
        hash.trim()
    );
}

/// `lib.mkHive` in pure evaluation: a flake of the user's (the project folder, with the plan and
/// settings files beside its manifest) takes this repository's flake as its input and gets one
/// derivation per step, with the flake's own hivebuild as their builder.
#[test]
fn lib_mkhive_evaluates_purely_in_a_users_flake() {
    let mut tools = BUILD_TOOLS.to_vec();
    tools.extend(["nix", "git"]);
    if !have("lib_mkhive_evaluates_purely_in_a_users_flake", &tools) {
        return;
    }
    let project = Project::new();
    let root = project.root();
    let manifest = ["manifests/standins.toml", "--target", "x86_64"];
    write_plan_and_settings(&project, &manifest);
    // The hivebuild store is not part of the user's flake.
    std::fs::remove_dir_all(&project.store).unwrap();
    let repo = crate::support::repo();
    std::fs::write(
        root.join("flake.nix"),
        format!(
            r#"{{
  inputs.hive.url = "git+file://{repo}";
  outputs = {{ self, hive }}: {{
    steps = builtins.mapAttrs (name: drv: drv.drvPath) (hive.lib.mkHive {{
      plan = builtins.fromJSON (builtins.readFile ./plan.json);
      settings = (builtins.fromJSON (builtins.readFile ./conf.json)).settings;
      src = self;
      hivebuild = "${{hive.packages.x86_64-linux.hivebuild}}/bin/hivebuild";
    }});
  }};
}}
"#,
            repo = repo.display()
        ),
    )
    .unwrap();
    let stdout = ok(flake_nix(root)
        .current_dir(root)
        .args(["eval", "--json", "path:.#steps"]));
    let steps: std::collections::BTreeMap<String, String> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        steps.keys().map(String::as_str).collect::<Vec<_>>(),
        crate::build::ALL_STEPS
    );
    assert!(steps.values().all(|drv| drv.starts_with("/nix/store/")));
}
