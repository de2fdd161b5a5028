//! A Unikraft unikernel: lay out what the libraries would download, configure from the
//! fragments, check the configuration took, make, and keep the image.
//!
//! The build runs in a warm folder (`warm.rs`) kept in the store's cache, one per everything
//! but the app (the core, the libraries, the runtime, the fragment, the tools), laid out like
//! the step's own folder and mapped to the same `/hive/build`; so after a change to the app
//! alone, make recompiles the app and links, and the image is the one a clean build gives.
//!
//! ```text
//! src/<SOURCE>/                       the core, the libraries, the runtime (laid out once)
//! src/skill-src/, deps/app-<NAME>/    the app (synced each build: only changed files move)
//! work/build/                         O= (and C=work/build/.config)
//! work/build/lib<NAME>/origin/<UNPACK>/   a library's origin source, where its fetch rule
//! work/build/lib<NAME>/<ARCHIVE>          unpacks it, with the stamps it checks in time
//! work/build/lib<NAME>/.chksum            order (make compares only their times)
//! work/build/lib<NAME>/.origin
//! work/defconfig                      the platform's lines + the runtime's lean.config +
//!                                     the app's defconfig
//! work/no-download                    WGET= and GIT=: records what it was asked, fails
//! ```
//!
//! Unikraft's fetch rule is `wget ... || rm ...`: a failed download does not stop make, so
//! the step reads the record, not make's status, to tell a download was tried.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hive_manifest::SystemKind;
use hive_plan::{Arg, SourceInput, UnikraftLibrary};

use super::warm::{Warm, sync_tree};
use crate::EngineError;
use crate::context::{MAPPED_BUILD_DIR, StepContext, copy_tree};

/// What the runtime library's folder holds besides its code: the configuration every skill
/// starts from.
pub(crate) const LEAN_CONFIG: &str = "lean.config";

pub(crate) struct Params<'a> {
    pub(crate) core: &'a str,
    pub(crate) libraries: &'a [UnikraftLibrary],
    pub(crate) app: &'a Arg,
    pub(crate) skill_source: Option<&'a str>,
    pub(crate) name: &'a str,
    pub(crate) arch: &'a str,
    pub(crate) cross_compile: &'a str,
    pub(crate) fragment: &'a str,
}

/// Where the build's inputs are, in the warm folder.
struct Layout {
    root: PathBuf,
    work: PathBuf,
    build: PathBuf,
    sources: BTreeMap<String, PathBuf>,
    app: PathBuf,
}

pub(crate) fn run(context: &StepContext<'_>, params: &Params<'_>) -> Result<(), EngineError> {
    let warm = Warm::open(
        &context.cache.join(hive_store::WARM_DIR),
        "unikraft",
        params.name,
        &warm_key(context, params),
    )?;
    let layout = lay_out(context, params, &warm)?;
    let build = &layout.build;
    let (defconfig, wanted) = defconfig(context, params, &layout.work)?;
    let recorder = download_recorder(&layout.work)?;

    let make = |goal: Option<&str>| {
        let libraries: Vec<String> = params
            .libraries
            .iter()
            .map(|l| layout.sources[&l.source].display().to_string())
            .collect();
        let prefix_map = format!(
            "-ffile-prefix-map={}={MAPPED_BUILD_DIR}",
            layout.root.display()
        );
        let mut command = context
            .command(context.program("make"))
            .arg("-C")
            .arg(&layout.sources[params.core])
            .arg(format!("A={}", layout.app.display()))
            .arg(format!("O={}", build.display()))
            .arg(format!("C={}", build.join(".config").display()))
            .arg(format!("N={}", params.name))
            .arg(format!("L={}", libraries.join(":")))
            .arg(format!("UK_DEFCONFIG={}", defconfig.display()))
            .arg(format!("CROSS_COMPILE={}", params.cross_compile))
            .arg(format!("HOSTCC={}", context.program("hostcc").display()))
            .arg(format!("UK_CFLAGS={prefix_map}"))
            .arg(format!("UK_ASFLAGS={prefix_map}"))
            .arg(format!("WGET={}", recorder.display()))
            .arg(format!("GIT={}", recorder.display()))
            .arg(format!("HIVE_SKILL_NAME={}", params.name));
        if let Some(source) = params.skill_source {
            command = command.arg(format!(
                "HIVE_SKILL_SRC={}",
                layout.sources[source].display()
            ));
        }
        match goal {
            Some(goal) => command.arg(goal),
            None => command.arg(format!("-j{}", context.settings.jobs.max(1))),
        }
    };

    warm.building()?;
    context.run(&make(Some("defconfig")))?;
    check_config(context, &build.join(".config"), &wanted)?;
    let outcome = context.run(&make(None));
    check_downloads(context, &recorder, build)?;
    outcome?;
    keep(context, params, &layout, &defconfig)?;
    warm.built()
}

/// What the warm folder is kept for: every input of the step but the app's own files.
fn warm_key(context: &StepContext<'_>, params: &Params<'_>) -> String {
    let mut sources = BTreeMap::new();
    for (name, input) in &context.step.sources {
        if Some(name.as_str()) == params.skill_source {
            continue;
        }
        let identity = match input {
            SourceInput::Path { hash, .. } => hash.hex(),
            SourceInput::Fetched { .. } => context.fetched[name].clone(),
        };
        sources.insert(name.clone(), identity);
    }
    let key = hive_plan::Digest::of_canonical(&serde_json::json!({
        "version": 1,
        "name": params.name,
        "arch": params.arch,
        "cross_compile": params.cross_compile,
        "fragment": params.fragment,
        "core": params.core,
        "libraries": params.libraries.iter().map(|l| serde_json::json!({
            "name": l.name,
            "source": l.source,
            "origin": l.origin.as_ref().map(|o| [&o.source, &o.archive, &o.unpack]),
        })).collect::<Vec<_>>(),
        "sources": sources,
        "programs": context.step.programs,
        "toolchain": context.step.toolchain,
    }));
    key.hex()[..16].to_owned()
}

/// The warm folder's inputs: laid out when it is fresh, the app synced every time.
fn lay_out(
    context: &StepContext<'_>,
    params: &Params<'_>,
    warm: &Warm,
) -> Result<Layout, EngineError> {
    let root = warm.root.clone();
    let work = root.join("work");
    let build = work.join("build");
    let mut sources = BTreeMap::new();
    for name in context.sources.keys() {
        sources.insert(name.clone(), root.join("src").join(name));
    }
    if warm.fresh {
        mkdir(&build)?;
        for (name, copy) in &context.sources {
            if Some(name.as_str()) != params.skill_source {
                copy_tree(copy, &sources[name], false).map_err(EngineError::io(copy))?;
            }
        }
        for library in params.libraries {
            place_origin(context, &build, library)?;
        }
        warm.laid_out()?;
    }
    if let Some(source) = params.skill_source {
        let copy = &context.sources[source];
        sync_tree(copy, &sources[source]).map_err(EngineError::io(copy))?;
    }
    let Arg::Output { step, path, .. } = params.app else {
        return Err(EngineError::StepFailed {
            step: context.step.name.clone(),
            message: "the app of a Unikraft step is the output of its render step".into(),
        });
    };
    let app_root = root.join("deps").join(step);
    mkdir(&root.join("deps"))?;
    sync_tree(&context.deps[step], &app_root).map_err(EngineError::io(&context.deps[step]))?;
    Ok(Layout {
        app: if path.is_empty() {
            app_root
        } else {
            app_root.join(path)
        },
        root,
        work,
        build,
        sources,
    })
}

/// The step's output: the image, its symbols (for checks such as "no network code"), the
/// fragment and the configuration it gave, with the build folder's path mapped.
fn keep(
    context: &StepContext<'_>,
    params: &Params<'_>,
    layout: &Layout,
    defconfig: &Path,
) -> Result<(), EngineError> {
    let build = &layout.build;
    let image = build.join(format!("{}_qemu-{}", params.name, params.arch));
    let image_file = hive_plan::Artefact::skill(SystemKind::Standins, params.name).file;
    let elf = context.out.join(image_file);
    fs::copy(&image, &elf).map_err(EngineError::io(&image))?;
    let defconfig_out = context.out.join("defconfig");
    fs::copy(defconfig, &defconfig_out).map_err(EngineError::io(defconfig))?;

    let config = build.join(".config");
    let text = fs::read_to_string(&config).map_err(EngineError::io(&config))?;
    let mapped = text.replace(&layout.root.display().to_string(), MAPPED_BUILD_DIR);
    let config_out = context.out.join("unikraft.config");
    fs::write(&config_out, mapped).map_err(EngineError::io(&config_out))?;

    // The unstripped image beside it (`.dbg`) carries the build folder in its debug
    // information; its symbol table, as `nm -P` prints it, does not.
    let unstripped = PathBuf::from(format!("{}.dbg", image.display()));
    let symbols = context
        .command(context.program("nm"))
        .args(["-P", "--defined-only"])
        .arg(&unstripped)
        .output()
        .map_err(|source| EngineError::Step {
            step: context.step.name.clone(),
            source: Box::new(source),
        })?;
    let symbols_out = context
        .out
        .join(hive_plan::Artefact::skill_symbols(params.name).file);
    fs::write(&symbols_out, symbols.stdout).map_err(EngineError::io(&symbols_out))?;
    Ok(())
}

/// A library's origin tree where its fetch rule would unpack it, with the stamps in the
/// order make expects, so that nothing is fetched.
fn place_origin(
    context: &StepContext<'_>,
    build: &Path,
    library: &UnikraftLibrary,
) -> Result<(), EngineError> {
    let Some(origin) = &library.origin else {
        return Ok(());
    };
    let dir = build.join(format!("lib{}", library.name));
    let unpacked = dir.join("origin").join(&origin.unpack);
    mkdir(&dir.join("origin"))?;
    let tree = &context.sources[&origin.source];
    copy_tree(tree, &unpacked, false).map_err(EngineError::io(tree))?;
    let epoch = SystemTime::UNIX_EPOCH;
    for (stamp, seconds) in [
        (origin.archive.as_str(), 1000),
        (".chksum", 2000),
        (".origin", 3000),
    ] {
        let path = dir.join(stamp);
        let file = fs::File::create(&path).map_err(EngineError::io(&path))?;
        file.set_modified(epoch + Duration::from_secs(seconds))
            .map_err(EngineError::io(&path))?;
    }
    Ok(())
}

/// The configuration fragment: the platform's lines, the runtime's `lean.config`, the app's
/// `defconfig`, in that order (a later line wins). Returns its path and the settings it asks
/// for, each with where it was asked.
fn defconfig(
    context: &StepContext<'_>,
    params: &Params<'_>,
    work: &Path,
) -> Result<(PathBuf, Vec<Wanted>), EngineError> {
    let runtime = &context.sources[&params.libraries[0].source];
    let app = PathBuf::from(context.arg(params.app));
    let mut parts = vec![(
        "the target's platform".to_owned(),
        params.fragment.to_owned(),
    )];
    for (what, path) in [
        (
            format!("the runtime's {LEAN_CONFIG}"),
            runtime.join(LEAN_CONFIG),
        ),
        ("the app's defconfig".to_owned(), app.join("defconfig")),
    ] {
        if path.is_file() {
            parts.push((
                what,
                fs::read_to_string(&path).map_err(EngineError::io(&path))?,
            ));
        }
    }
    let mut text = String::new();
    let mut wanted: Vec<Wanted> = Vec::new();
    for (what, part) in &parts {
        let _ = writeln!(text, "# {what}");
        for line in part.lines() {
            if let Some((option, value)) = setting(line) {
                wanted.retain(|w| w.option != option);
                wanted.push(Wanted {
                    option: option.to_owned(),
                    value: value.to_owned(),
                    from: what.clone(),
                });
            }
        }
        text.push_str(part);
        if !part.ends_with('\n') {
            text.push('\n');
        }
    }
    let path = work.join("defconfig");
    fs::write(&path, text).map_err(EngineError::io(&path))?;
    Ok((path, wanted))
}

/// One setting a fragment asks for.
struct Wanted {
    option: String,
    /// `y`, a value, or `n` for `# CONFIG_X is not set`.
    value: String,
    from: String,
}

/// `CONFIG_X=v` or `# CONFIG_X is not set` → `(CONFIG_X, v | n)`.
fn setting(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("# ") {
        let option = rest.strip_suffix(" is not set")?;
        return option.starts_with("CONFIG_").then_some((option, "n"));
    }
    let (option, value) = line.split_once('=')?;
    option.starts_with("CONFIG_").then_some((option, value))
}

/// Kconfig drops what it does not know or cannot satisfy without a word: every setting the
/// fragments ask for must be in the configuration it wrote.
fn check_config(
    context: &StepContext<'_>,
    config: &Path,
    wanted: &[Wanted],
) -> Result<(), EngineError> {
    let text = fs::read_to_string(config).map_err(EngineError::io(config))?;
    let mut got = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some((option, value)) = setting(line) {
            got.insert(option, value);
        }
    }
    let missed: Vec<String> = wanted
        .iter()
        .filter(|w| got.get(w.option.as_str()).copied().unwrap_or("n") != w.value)
        .map(|w| {
            let asked = if w.value == "n" {
                format!("`{}` unset", w.option)
            } else {
                format!("`{}={}`", w.option, w.value)
            };
            let found = got.get(w.option.as_str()).map_or_else(
                || "absent (an option this Unikraft does not have?)".to_owned(),
                |v| format!("`{v}` (a dependency not met, or selected by another option?)"),
            );
            format!("{} asks for {asked}; the configuration has {found}", w.from)
        })
        .collect();
    if missed.is_empty() {
        return Ok(());
    }
    Err(EngineError::StepFailed {
        step: context.step.name.clone(),
        message: format!(
            "Unikraft's configuration did not take {} setting{}:\n  - {}",
            missed.len(),
            if missed.len() == 1 { "" } else { "s" },
            missed.join("\n  - ")
        ),
    })
}

/// The `WGET=`/`GIT=` program of the build: it writes its arguments to `downloads` and fails.
fn download_recorder(work: &Path) -> Result<PathBuf, EngineError> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = work.join("no-download");
    let record = work.join("downloads");
    let script = format!(
        "#!/bin/sh\n# hivebuild: builds do not download.\necho \"$*\" >> '{}'\nexit 1\n",
        record.display()
    );
    fs::write(&path, script).map_err(EngineError::io(&path))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
        .map_err(EngineError::io(&path))?;
    // What an earlier build in this folder recorded is not this build's.
    if record.exists() {
        fs::remove_file(&record).map_err(EngineError::io(&record))?;
    }
    Ok(path)
}

/// Fail, naming the library, when the build tried to download.
fn check_downloads(
    context: &StepContext<'_>,
    recorder: &Path,
    build: &Path,
) -> Result<(), EngineError> {
    let record = recorder.with_file_name("downloads");
    let Ok(text) = fs::read_to_string(&record) else {
        return Ok(());
    };
    let Some(line) = text.lines().next() else {
        return Ok(());
    };
    // `wget -O O/lib<NAME>/<FILE> URL`, `git clone ... URL O/lib<NAME>/origin/`
    let library = line
        .split_whitespace()
        .find_map(|word| {
            let inside = Path::new(word).strip_prefix(build).ok()?;
            let first = inside.components().next()?.as_os_str().to_str()?;
            first.strip_prefix("lib").map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned());
    let url = line
        .split_whitespace()
        .find(|w| w.contains("://"))
        .unwrap_or(line);
    Err(EngineError::StepFailed {
        step: context.step.name.clone(),
        message: format!(
            "Unikraft library `{library}` tried to download `{url}`; builds never download: declare what it fetches as `origin`, `archive` and `unpack` in `[platform.unikraft.libraries.{library}]`"
        ),
    })
}

fn mkdir(path: &Path) -> Result<(), EngineError> {
    fs::create_dir_all(path).map_err(EngineError::io(path))
}
