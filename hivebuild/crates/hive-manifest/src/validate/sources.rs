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

    /// The stock sources the platform's roles name and `[sources]` does not declare.
    pub(super) fn add_stock_sources(
        &self,
        platform: &Platform,
        sources: &mut BTreeMap<String, Source>,
    ) {
        for name in platform.source_names() {
            if !sources.contains_key(name)
                && let Some(path) = self.layers.stock_source(name)
            {
                sources.insert(name.to_owned(), Source::Stock { path });
            }
        }
    }

    pub(super) fn platform(
        &mut self,
        raw: &raw::Platform,
        sources: &BTreeMap<String, Source>,
    ) -> Option<Platform> {
        let stock = self.layers.stock_sources();
        let mut resolve = |field: &S<String>, role: &str| {
            let name = field.get_ref();
            if sources.contains_key(name) || stock.contains(name) {
                Some(name.clone())
            } else {
                let carried = if stock.is_empty() {
                    String::new()
                } else {
                    format!(", or use one hivebuild carries (`{}`)", stock.join("`, `"))
                };
                self.error(
                    Diagnostic::new(
                        format!("the {role} names source `{name}`, which is not declared"),
                        field.span(),
                    )
                    .label("no such source")
                    .help(format!("declare it as `[sources.{name}]`{carried}")),
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
