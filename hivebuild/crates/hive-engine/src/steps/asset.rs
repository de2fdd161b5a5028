//! Boot assets: files of a Debian package, pinned by version and the sha256 of its `.deb`.
//!
//! The package is downloaded with `apt-get download` under a private APT configuration (its
//! own lists and cache, the architectures it needs, the `non-free-firmware` component), so
//! the machine's APT setup is not changed. The mirror and suite are taken from the machine's
//! own APT sources. The `.deb` is checked against its pin, then only the files the image
//! takes are unpacked. With `--offline` nothing is downloaded: an asset not yet in the store
//! is an error that names it.

use std::fs;
use std::path::Path;

use hive_plan::Digest;

use crate::EngineError;
use crate::context::StepContext;

pub(crate) struct Pin<'a> {
    pub(crate) package: &'a str,
    pub(crate) version: &'a str,
    pub(crate) arch: &'a str,
    pub(crate) sha256: &'a str,
}

pub(crate) fn run(
    context: &StepContext<'_>,
    pin: &Pin<'_>,
    files: &[String],
) -> Result<(), EngineError> {
    let name = match &context.step.role {
        hive_plan::Role::Asset(name) => name.clone(),
        _ => context.step.name.clone(),
    };
    if context.settings.offline {
        return Err(EngineError::OfflineAsset { name });
    }
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| EngineError::Io { path, source }
    };
    let apt = context.work.join("apt");
    for dir in [
        "lists/partial",
        "cache/archives/partial",
        "sources",
        "preferences",
    ] {
        let path = apt.join(dir);
        fs::create_dir_all(&path).map_err(io_error(&path))?;
    }
    let (mirror, suite) = host_mirror().ok_or_else(|| EngineError::Asset {
        name: name.clone(),
        message: "the machine's APT sources have no Debian entry to take the mirror and suite from"
            .into(),
    })?;
    let architecture = if pin.arch == "all" { "amd64" } else { pin.arch };
    fs::write(
        apt.join("sources/hive.sources"),
        format!(
            "Types: deb\nURIs: {mirror}\nSuites: {suite} {suite}-updates\nComponents: main non-free-firmware\n\
             Architectures: {architecture}\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        ),
    )
    .map_err(io_error(&apt))?;
    fs::write(apt.join("status"), "").map_err(io_error(&apt))?;
    let root = apt.display();
    let config = format!(
        "Dir::State \"{root}\";\nDir::State::Lists \"{root}/lists\";\nDir::State::status \"{root}/status\";\n\
         Dir::Cache \"{root}/cache\";\nDir::Etc::SourceList \"/dev/null\";\nDir::Etc::SourceParts \"{root}/sources\";\n\
         Dir::Etc::Preferences \"/dev/null\";\nDir::Etc::PreferencesParts \"{root}/preferences\";\n\
         APT::Architecture \"{architecture}\";\nAPT::Architectures {{ \"{architecture}\"; }};\n\
         Acquire::Languages \"none\";\nAPT::Sandbox::User \"root\";\n"
    );
    let config_file = apt.join("apt.conf");
    fs::write(&config_file, config).map_err(io_error(&config_file))?;
    let apt_get = |args: &[&str]| {
        context
            .command("apt-get")
            .env("APT_CONFIG", &config_file)
            .args(["-q"])
            .args(args)
    };
    context.run(&apt_get(&["update"]))?;
    let spec = format!("{}:{architecture}={}", pin.package, pin.version);
    context.run(&apt_get(&["download", &spec]))?;

    let deb = fs::read_dir(&context.work)
        .map_err(io_error(&context.work))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| EngineError::Asset {
            name: name.clone(),
            message: format!("`apt-get download {spec}` left no .deb"),
        })?;
    let actual = Digest::of(&fs::read(&deb).map_err(io_error(&deb))?).hex();
    if actual != pin.sha256 {
        return Err(EngineError::HashMismatch {
            name,
            expected: pin.sha256.to_owned(),
            actual,
        });
    }
    let tar = context.work.join("data.tar");
    context.run(
        &context
            .command("sh")
            .arg("-c")
            .arg("dpkg-deb --fsys-tarfile \"$1\" > \"$2\"")
            .arg("sh")
            .arg(&deb)
            .arg(&tar),
    )?;
    let members: Vec<String> = files.iter().map(|f| format!("./{f}")).collect();
    context.run(
        &context
            .command("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&context.out)
            .args(&members),
    )
}

/// The mirror and suite of the machine's first Debian APT entry (deb822 or one-line form).
fn host_mirror() -> Option<(String, String)> {
    let mut files: Vec<_> = fs::read_dir("/etc/apt/sources.list.d")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "sources"))
    {
        let text = fs::read_to_string(path).unwrap_or_default();
        for stanza in text.split("\n\n") {
            let field = |name: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            };
            let (Some(uris), Some(suites)) = (field("URIs:"), field("Suites:")) else {
                continue;
            };
            let suite = suites
                .split_whitespace()
                .find(|s| !s.contains('-'))
                .map(str::to_owned);
            let keyring = field("Signed-By:").unwrap_or_default();
            if let Some(suite) = suite.filter(|_| keyring.contains("debian")) {
                return uris
                    .split_whitespace()
                    .next()
                    .map(|u| (u.to_owned(), suite));
            }
        }
    }
    let lists = std::iter::once(std::path::PathBuf::from("/etc/apt/sources.list")).chain(
        files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "list")),
    );
    for path in lists {
        for line in fs::read_to_string(path).unwrap_or_default().lines() {
            let parts: Vec<&str> = line
                .split_whitespace()
                .filter(|p| !p.starts_with('['))
                .collect();
            if parts.len() > 2 && parts[0] == "deb" && !parts[2].contains('-') {
                return Some((parts[1].to_owned(), parts[2].to_owned()));
            }
        }
    }
    None
}
