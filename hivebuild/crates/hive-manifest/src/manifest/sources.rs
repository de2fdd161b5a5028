//! `[sources.*]` and `[platform]`: what builds the platform, and where it comes from.

use std::collections::BTreeMap;

use toml_edit::Item;

use super::Checker;
use crate::diagnostic::Diagnostic;
use crate::model::{Microkit, Platform, Source};
use crate::raw::{self, S, section};

impl Checker<'_> {
    pub(super) fn sources(&mut self, item: Option<&Item>) -> BTreeMap<String, Source> {
        let mut sources = BTreeMap::new();
        for (name, item) in self.named_tables(item, "sources") {
            let what = format!("sources.{name}");
            let Some(raw) = section::<raw::Source>(item, &what, &mut self.diagnostics) else {
                continue;
            };
            let span = item.span().unwrap_or(0..0);
            let source = match (raw.git, raw.url, raw.path) {
                (Some(git), None, None) => {
                    let Some(rev) = raw.rev else {
                        self.error(
                            Diagnostic::new(
                                format!("git source `{name}` has no `rev`"),
                                git.span(),
                            )
                            .label("needs a revision")
                            .help(
                                "add `rev = \"<commit, tag or branch>\"`; `hivebuild lock` pins it",
                            ),
                        );
                        continue;
                    };
                    Source::Git {
                        url: git.into_inner(),
                        rev: rev.into_inner(),
                    }
                }
                (None, Some(url), None) => {
                    let sha = raw.sha256.as_ref().map(|s| s.get_ref().as_str());
                    if !sha
                        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                    {
                        let at = raw.sha256.as_ref().map_or(url.span(), S::span);
                        self.error(
                            Diagnostic::new(
                                format!(
                                    "archive source `{name}` needs a `sha256` of 64 hex digits"
                                ),
                                at,
                            )
                            .label("missing or malformed hash")
                            .help(
                                "add `sha256 = \"...\"` with the archive's hash (`sha256sum FILE`)",
                            ),
                        );
                        continue;
                    }
                    Source::Tarball {
                        url: url.into_inner(),
                        sha256: sha.unwrap_or_default().to_ascii_lowercase(),
                    }
                }
                (None, None, Some(path)) => match self.existing_path(&path, true) {
                    Some(path) => Source::Path { path },
                    None => continue,
                },
                _ => {
                    self.error(
                        Diagnostic::new(
                            format!(
                                "source `{name}` must have exactly one of `git`, `url` or `path`"
                            ),
                            span,
                        )
                        .label("ambiguous or empty source")
                        .help("write `git = URL` + `rev`, `url = URL` + `sha256`, or `path = DIR`"),
                    );
                    continue;
                }
            };
            sources.insert(name, source);
        }
        sources
    }

    pub(super) fn platform(
        &mut self,
        raw: &raw::Platform,
        sources: &BTreeMap<String, Source>,
    ) -> Option<Platform> {
        let mut resolve = |field: &S<String>, role: &str| {
            if sources.contains_key(field.get_ref()) {
                Some(field.get_ref().clone())
            } else {
                self.error(
                    Diagnostic::new(
                        format!(
                            "the {role} names source `{}`, which is not declared",
                            field.get_ref()
                        ),
                        field.span(),
                    )
                    .label("no such source")
                    .help(format!("declare it as `[sources.{}]`", field.get_ref())),
                );
                None
            }
        };
        let kernel = resolve(&raw.kernel, "kernel");
        let skill_base = resolve(&raw.skill_base, "skill base");
        let packer = resolve(&raw.packer, "packer");
        let microkit = match &raw.microkit {
            None => Some(None),
            Some(m) => {
                let kernel_source = resolve(&m.sel4, "seL4 kernel");
                let sdk_source = resolve(&m.sdk, "Microkit SDK");
                let rust_source = resolve(&m.rust_sel4, "rust-sel4 (for the Microkit SDK)");
                let pd_base = resolve(&m.pd_base, "protection-domain base");
                let police = resolve(&m.police, "police");
                (|| {
                    Some(Some(Microkit {
                        sel4: kernel_source?,
                        microkit: sdk_source?,
                        rust_sel4: rust_source?,
                        pd_base: pd_base?,
                        police: police?,
                    }))
                })()
            }
        };
        Some(Platform {
            kernel: kernel?,
            skill_base: skill_base?,
            packer: packer?,
            microkit: microkit?,
        })
    }
}
