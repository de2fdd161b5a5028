//! Paths checked against Nix: the constants were computed by `nix-instantiate` (Nix 2.8.0)
//! from `tests/golden.nix` on 2026-12-02; `tests/golden.rs` recomputes them with the
//! installed Nix when there is one.

use super::*;

fn from_hex(text: &str) -> [u8; 32] {
    let mut bytes = [0; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    bytes
}

/// The NAR sha256 of the golden source folder (one file, `file`, holding `hello\n`).
const SRCDIR_NAR: &str = "9bf8b8cc8247291b5aa4d9cfc0d52816ba26464c1fb9c34275ba99d68c528d6a";

#[test]
fn paths_are_the_ones_nix_instantiate_computed() {
    let src = fixed_source_path(&from_hex(SRCDIR_NAR), "src-x");
    assert_eq!(src, "/nix/store/6mfqm2njs15rmlmpmz07axwkahl3x5wa-src-x");
    let planned = crate::golden::derivations(&mut DerivationSet::new(), &src);
    let paths: Vec<(&str, &str)> = planned
        .iter()
        .map(|(_, p)| (p.drv_path.as_str(), p.out_path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            (
                "/nix/store/iv4xlb1kgyiql0p7dqs934phix512v2g-a.drv",
                "/nix/store/3lhg4a0kzd18yqq2y9ih4720qvbzkz5h-a"
            ),
            (
                "/nix/store/hffs0y2ldd6cs0p19ynh2xj846h2s1hw-b.drv",
                "/nix/store/1qi32nkrkqlv5ylpd593p3rxai852hjy-b"
            ),
            (
                "/nix/store/66acn01yxvx9qzq9rh9safn41jiyqn6p-f.drv",
                "/nix/store/23qvwckf0gjik4ws6ybmq4hjk0z6c3zc-f"
            ),
            (
                "/nix/store/45140hskh8wq1v01mnja7mp6q5m44d1x-c.drv",
                "/nix/store/mdngqg6sbpzckjnlajsil9a4sc9cv8q4-c"
            ),
        ]
    );
}

#[test]
fn the_aterm_is_the_one_nix_writes() {
    let planned = crate::golden::derivations(&mut DerivationSet::new(), "/nix/store/x-src");
    assert_eq!(
        planned[0].1.aterm,
        r#"Derive([("out","/nix/store/3lhg4a0kzd18yqq2y9ih4720qvbzkz5h-a","","")],[],[],"x86_64-linux","/bin/sh",["-c","echo hi > $out"],[("builder","/bin/sh"),("name","a"),("out","/nix/store/3lhg4a0kzd18yqq2y9ih4720qvbzkz5h-a"),("system","x86_64-linux"),("x","q\"\\\n\ttab")])"#
    );
    assert_eq!(
        planned[2].1.aterm,
        r#"Derive([("out","/nix/store/23qvwckf0gjik4ws6ybmq4hjk0z6c3zc-f","r:sha256","0000000000000000000000000000000000000000000000000000000000000000")],[],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("name","f"),("out","/nix/store/23qvwckf0gjik4ws6ybmq4hjk0z6c3zc-f"),("outputHash","0000000000000000000000000000000000000000000000000000"),("outputHashAlgo","sha256"),("outputHashMode","recursive"),("system","x86_64-linux")])"#
    );
}

#[test]
fn an_input_must_be_added_first_and_names_must_be_valid() {
    let mut set = DerivationSet::new();
    let orphan = Derivation {
        name: "x".into(),
        input_drvs: ["/nix/store/0000-y.drv".into()].into(),
        ..Derivation::default()
    };
    assert!(matches!(
        set.add(&orphan),
        Err(DerivationError::UnknownInput { .. })
    ));
    let bad = Derivation {
        name: "has space".into(),
        ..Derivation::default()
    };
    assert_eq!(
        set.add(&bad),
        Err(DerivationError::InvalidName("has space".into()))
    );
}
