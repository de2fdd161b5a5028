//! The derivations of `tests/golden.nix`, built with this crate: the unit tests compare
//! their paths with constants Nix computed, `tests/golden.rs` with the installed Nix.

use crate::{Derivation, DerivationSet, Planned};

/// `a`, `b` (reads `a` and the source `src`), `f` (fixed output), `c` (reads `f`), by name.
pub fn derivations(set: &mut DerivationSet, src: &str) -> Vec<(&'static str, Planned)> {
    let base = |name: &str| Derivation {
        name: name.into(),
        system: "x86_64-linux".into(),
        builder: "/bin/sh".into(),
        ..Derivation::default()
    };
    let mut add = |drv: Derivation| set.add(&drv).expect("golden derivations are valid");
    let a = add(Derivation {
        args: vec!["-c".into(), "echo hi > $out".into()],
        env: [("x".into(), "q\"\\\n\ttab".into())].into(),
        ..base("a")
    });
    let b = add(Derivation {
        args: vec!["-c".into(), format!("cat {} > $out", a.out_path)],
        env: [
            ("src".into(), src.to_owned()),
            ("requiredSystemFeatures".into(), "hive-x".into()),
        ]
        .into(),
        input_drvs: [a.drv_path.clone()].into(),
        input_srcs: [src.to_owned()].into(),
        ..base("b")
    });
    let f = add(Derivation {
        fixed: Some([0; 32]),
        ..base("f")
    });
    let c = add(Derivation {
        args: vec![f.out_path.clone()],
        input_drvs: [f.drv_path.clone()].into(),
        ..base("c")
    });
    vec![("a", a), ("b", b), ("f", f), ("c", c)]
}
