//! docs/cli.md documents every exit code and every environment variable hivebuild reads.

use hive_ops::{env, exit_codes};

fn cli_md() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../docs/cli.md");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_exit_code_is_documented() {
    let docs = cli_md();
    for (code, meaning) in exit_codes::ALL {
        assert!(
            docs.contains(&format!("\n| {code} | ")),
            "docs/cli.md has no row for exit code {code} ({meaning})"
        );
    }
}

#[test]
fn every_environment_variable_is_documented() {
    let docs = cli_md();
    for name in env::ALL {
        assert!(
            docs.contains(&format!("`{name}")),
            "docs/cli.md does not mention `{name}`"
        );
    }
}
