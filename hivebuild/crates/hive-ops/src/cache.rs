//! Binary caches for the Nix engine: push a hive's step outputs to one (signed), pull them
//! from one into the local Nix store with nothing built, make a signing key.

use std::path::Path;

use hive_manifest::{Manifest, Target};
use serde_json::json;

use crate::{Context, Error, Result, Shown};

/// The Nix engine's options from the context, or Nix's defaults when `--engine nix` was not
/// given: the cache commands always go through Nix.
fn nix_options(cx: &Context<'_>) -> hive_engine::nix::NixOptions {
    cx.engine.nix.clone().unwrap_or_default()
}

/// The context, building with Nix with these options.
fn with_nix<'a>(cx: &Context<'a>, options: hive_engine::nix::NixOptions) -> Context<'a> {
    let mut engine = cx.engine.clone();
    engine.nix = Some(options);
    Context {
        store_dir: cx.store_dir.clone(),
        overrides: cx.overrides.clone(),
        rustc: cx.rustc.clone(),
        engine,
        reporter: cx.reporter,
    }
}

/// Build the hive with Nix (what is missing), then copy every step's output to `url`,
/// signed with `secret_key` (a key of `cache key`).
pub fn push(
    cx: &Context<'_>,
    manifest: &Manifest,
    target: &Target,
    url: &str,
    secret_key: &Path,
) -> Result<Shown> {
    if !secret_key.is_file() {
        return Err(Error::usage(format!(
            "`--sign-key {}`: no such file (make one with `hivebuild cache key`)",
            secret_key.display()
        )));
    }
    let options = nix_options(cx);
    let cx = with_nix(cx, options.clone());
    let built = crate::build::build(&cx, manifest, target)?;
    let count = hive_engine::nix::push(&options, &built.report, url, secret_key)?;
    Ok(Shown {
        text: format!(
            "pushed {count} step outputs of `{}` to {url}\n",
            built.plan.target
        ),
        json: json!({"cache": url, "pushed": count}),
    })
}

/// Take every step's output from `url` (signed by one of `trusted_keys`) into the local Nix
/// store; building anything is an error.
pub fn pull(
    cx: &Context<'_>,
    manifest: &Manifest,
    target: &Target,
    url: &str,
    trusted_keys: &[String],
) -> Result<Shown> {
    let mut options = nix_options(cx);
    options.substituters.insert(0, url.to_owned());
    for key in trusted_keys {
        if !options.trusted_public_keys.contains(key) {
            options.trusted_public_keys.push(key.clone());
        }
    }
    options.max_jobs = Some(0);
    let cx = with_nix(cx, options);
    let built = crate::build::build(&cx, manifest, target)?;
    let present = built.report.steps.len();
    Ok(Shown {
        text: format!("all {present} step outputs are in the Nix store\n"),
        json: json!({"cache": url, "steps": present}),
    })
}

/// Write a Nix binary-cache signing key pair: `PREFIX.secret` and `PREFIX.public`.
pub fn key(name: &str, out: &Path) -> Result<Shown> {
    let with = |suffix: &str| {
        let mut path = out.as_os_str().to_owned();
        path.push(suffix);
        std::path::PathBuf::from(path)
    };
    let (secret, public) = (with(".secret"), with(".public"));
    for path in [&secret, &public] {
        if path.exists() {
            return Err(Error::usage(format!(
                "`{}` exists: keys are never overwritten",
                path.display()
            )));
        }
    }
    hive_process::ProcessBuilder::new("nix-store")
        .arg("--generate-binary-cache-key")
        .arg(name)
        .arg(&secret)
        .arg(&public)
        .output()
        .map_err(|source| {
            Error::Engine(hive_engine::EngineError::Nix {
                source: Box::new(source),
            })
        })?;
    let key =
        std::fs::read_to_string(&public).map_err(Error::io(crate::Area::Keys, "read", &public))?;
    Ok(Shown {
        text: format!(
            "wrote {} (keep it secret) and {}\ntrusted key: {key}\n",
            secret.display(),
            public.display()
        ),
        json: json!({"secret": secret, "public": public, "key": key}),
    })
}
