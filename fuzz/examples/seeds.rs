//! Writes the made seed corpora into `seeds/TARGET/` (`hive_fuzz::seeds`); with `--check`,
//! fails when the committed ones differ; with `--folders TARGET`, prints every seed folder of
//! a target, one a line; with `--c-arguments TARGET`, a C target's harness, sources and `-I`
//! folders, one a line (both for `ci/fuzz`).

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, target] = &args[..]
        && flag == "--folders"
    {
        for folder in hive_fuzz::seeds::folders(target) {
            println!("{}", folder.display());
        }
        return;
    }
    if let [flag, target] = &args[..]
        && flag == "--c-arguments"
    {
        let Some(c) = hive_fuzz::C_TARGETS.iter().find(|c| c.name == target) else {
            eprintln!("seeds: no C target `{target}`");
            std::process::exit(2);
        };
        for argument in c.arguments() {
            println!("{argument}");
        }
        return;
    }
    let check = args.iter().any(|a| a == "--check");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut differ = Vec::new();
    for (target, seeds) in hive_fuzz::seeds::made() {
        let folder = dir.join(target);
        std::fs::create_dir_all(&folder).expect("a seed folder");
        for (name, bytes) in seeds {
            let path = folder.join(name);
            if check {
                if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
                    differ.push(path.display().to_string());
                }
            } else {
                std::fs::write(&path, bytes).expect("a seed written");
            }
        }
    }
    if !differ.is_empty() {
        eprintln!(
            "seeds: these differ from what `cargo run --example seeds` writes:\n  {}",
            differ.join("\n  ")
        );
        std::process::exit(1);
    }
}
