//! Golden files of the generated system descriptions and capability graphs: the demo and
//! edge cases. `HIVEBUILD_BLESS=1 cargo test -p hive-sel4` rewrites them (review the diff).

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .canonicalize()
        .unwrap()
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("HIVEBUILD_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "{name} differs from its golden file; bless it if the change is right"
    );
}

fn board(name: &str) -> hive_sel4::Board {
    hive_sel4::load_board(
        &hive_sel4::boards_file(&hive_manifest::Layers::project_only(repo())),
        name,
    )
    .unwrap()
}

fn virt() -> hive_sel4::Board {
    board("qemu_virt_aarch64")
}

fn manifest(name: &str, text: &str) -> hive_manifest::Manifest {
    hive_manifest::parse_manifest(
        Path::new(name),
        text,
        &hive_manifest::Layers::project_only(repo()),
    )
    .unwrap()
}

const HEAD: &str = "[hive]\nname = \"edge\"\nversion = \"1.0.0\"\ntargets = [\"qemu-virt-aarch64\"]\n\n\
    [platform]\nkernel = \"standins\"\nskill-base = \"standins\"\npacker = \"standins\"\n\n\
    [sources.standins]\npath = \"components/standins\"\n\n";

#[test]
fn the_demo() {
    let text = std::fs::read_to_string(repo().join("manifests/demo.toml")).unwrap();
    let demo = manifest("manifests/demo.toml", &text);
    golden("demo.system", &hive_sel4::system_xml(&demo, &virt()));
    golden(
        "demo-rpi4.system",
        &hive_sel4::system_xml(&demo, &board("rpi4b_1gb")),
    );
    golden("demo.caps.txt", &hive_sel4::graph::to_text(&demo));
    golden("demo.caps.dot", &hive_sel4::graph::to_dot(&demo));
}

#[test]
fn a_hive_without_skills() {
    let text = format!("{HEAD}[brain]\npath = \"components/brain\"\n");
    golden(
        "no-skills.system",
        &hive_sel4::system_xml(&manifest("no-skills.toml", &text), &virt()),
    );
}

#[test]
fn skills_that_talk_to_each_other_with_their_own_priorities() {
    let text = format!(
        "{HEAD}[brain]\npath = \"components/brain\"\ncaps = [\"channel:zeta\", \"channel:alpha\"]\npriority = 150\n\n\
         [skills.zeta]\npath = \"components/skills/pdf\"\ncaps = [\"channel:brain\", \"channel:alpha\", \"device:gpio\"]\npriority = 90\n\n\
         [skills.alpha]\npath = \"components/skills/pdf\"\ncaps = [\"channel:zeta\", \"channel:brain\", \"net:tcp:443\"]\nrestart = \"never\"\n"
    );
    let hive = manifest("peers.toml", &text);
    let ids = hive_sel4::channel_ids(&hive);
    // The Brain's ids follow the skills' child ids; a skill's are the police's, the Brain's,
    // then its other peers'.
    let of = |pd: &str| {
        ids[pd]
            .iter()
            .map(|(p, i)| (p.as_str(), *i))
            .collect::<Vec<_>>()
    };
    assert_eq!(of("brain"), [("alpha", 1), ("police", 0), ("zeta", 2)]);
    assert_eq!(of("police"), [("alpha", 1), ("brain", 0), ("zeta", 2)]);
    assert_eq!(of("alpha"), [("brain", 1), ("police", 0), ("zeta", 2)]);
    assert_eq!(of("zeta"), [("alpha", 2), ("brain", 1), ("police", 0)]);
    golden("peers.system", &hive_sel4::system_xml(&hive, &virt()));
    golden("peers.caps.txt", &hive_sel4::graph::to_text(&hive));
}
