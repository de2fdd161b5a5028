//! `[sources.*]` and `[platform]`: what builds the platform, and where it comes from.

use std::collections::BTreeMap;

use toml_edit::Item;

use super::Checker;
use crate::diagnostic::Diagnostic;
use crate::model::{Microkit, Origin, Platform, Source, Unikraft, UnikraftLibrary};
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

    /// The source a platform role names, when `[sources]` declares it or the stock carries it.
    fn platform_source(
        &mut self,
        field: &S<String>,
        role: &str,
        sources: &BTreeMap<String, Source>,
    ) -> Option<String> {
        let stock = self.layers.stock_sources();
        let name = field.get_ref();
        if sources.contains_key(name) || stock.contains(name) {
            return Some(name.clone());
        }
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

    pub(super) fn platform(
        &mut self,
        raw: &raw::Platform,
        sources: &BTreeMap<String, Source>,
    ) -> Option<Platform> {
        let kernel = self.platform_source(&raw.kernel, "kernel", sources);
        let skill_base = self.platform_source(&raw.skill_base, "skill base", sources);
        let skill_runtime = match &raw.skill_runtime {
            None => Some(None),
            Some(name) => self
                .platform_source(name, "skill runtime", sources)
                .map(Some),
        };
        let packer = self.platform_source(&raw.packer, "packer", sources);
        let microkit = match &raw.microkit {
            None => Some(None),
            Some(m) => {
                let kernel_source = self.platform_source(&m.sel4, "seL4 kernel", sources);
                let sdk_source = self.platform_source(&m.sdk, "Microkit SDK", sources);
                let rust_source =
                    self.platform_source(&m.rust_sel4, "rust-sel4 (for the Microkit SDK)", sources);
                let pd_base = self.platform_source(&m.pd_base, "protection-domain base", sources);
                let police = self.platform_source(&m.police, "police", sources);
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
        let unikraft = match &raw.unikraft {
            None => Some(None),
            Some(u) => self.unikraft(u, sources).map(Some),
        };
        Some(Platform {
            kernel: kernel?,
            skill_base: skill_base?,
            skill_runtime: skill_runtime?,
            packer: packer?,
            microkit: microkit?,
            unikraft: unikraft?,
        })
    }

    /// `[platform.unikraft]`: its sources, and each library's origin given whole.
    fn unikraft(
        &mut self,
        raw: &raw::Unikraft,
        sources: &BTreeMap<String, Source>,
    ) -> Option<Unikraft> {
        let core = self.platform_source(&raw.core, "Unikraft core", sources);
        let runtime = self.platform_source(&raw.runtime, "skill runtime", sources);
        let mut libraries = Some(BTreeMap::new());
        for (name, library) in &raw.libraries {
            let resolved = self.unikraft_library(name, library, sources);
            match (resolved, libraries.as_mut()) {
                (Some(resolved), Some(all)) => {
                    all.insert(name.clone(), resolved);
                }
                _ => libraries = None,
            }
        }
        Some(Unikraft {
            core: core?,
            runtime: runtime?,
            libraries: libraries?,
        })
    }

    fn unikraft_library(
        &mut self,
        name: &str,
        library: &raw::UnikraftLibrary,
        sources: &BTreeMap<String, Source>,
    ) -> Option<UnikraftLibrary> {
        let mut valid = true;
        if !is_library_name(name) {
            self.error(
                Diagnostic::new(
                    format!("`{name}` is not a Unikraft library name"),
                    library.source.span(),
                )
                .label("lowercase letters, digits and `_` only")
                .help("the name is the one the library registers with `addlib`, without `lib`: its build folder is `lib<name>`"),
            );
            valid = false;
        }
        let given = [
            library.origin.is_some(),
            library.archive.is_some(),
            library.unpack.is_some(),
        ];
        if given.contains(&true) && given.contains(&false) {
            self.error(
                Diagnostic::new(
                    format!("Unikraft library `{name}`: `origin`, `archive` and `unpack` go together"),
                    library.source.span(),
                )
                .label("give all three or none")
                .help("`origin` names the source that holds what the library's Makefile.uk would download, `archive` the file name its fetch rule writes, `unpack` the folder the archive unpacks to"),
            );
            valid = false;
        }
        let source = self.platform_source(
            &library.source,
            &format!("Unikraft library `{name}`"),
            sources,
        );
        let origin = match &library.origin {
            None => Some(None),
            Some(origin) => self
                .platform_source(
                    origin,
                    &format!("download of Unikraft library `{name}`"),
                    sources,
                )
                .map(|source| origin_of(library, source)),
        };
        valid.then_some(UnikraftLibrary {
            source: source?,
            origin: origin?,
        })
    }
}

/// A library's origin, once its fields are known to go together.
fn origin_of(library: &raw::UnikraftLibrary, source: String) -> Option<Origin> {
    Some(Origin {
        source,
        archive: library.archive.clone()?,
        unpack: library.unpack.clone()?,
    })
}

/// What `addlib` accepts as a library's name, lowercase.
fn is_library_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
