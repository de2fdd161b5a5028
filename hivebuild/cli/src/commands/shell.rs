//! Shell habits: `hivebuild completions SHELL` and `hivebuild man [--out DIR]`, both made from
//! the command line's own definition (`clap_complete`, `clap_mangen`), so they cannot drift from
//! it. The only commands that read the clap definition: they are about the command line.

use std::path::Path;

use hive_ops::{Area, Error};

/// The completion script for `shell`, on stdout.
pub(crate) fn completions(command: &mut clap::Command, shell: clap_complete::Shell) {
    let mut script = Vec::new();
    clap_complete::generate(shell, command, "hivebuild", &mut script);
    crate::output::emit(&String::from_utf8_lossy(&script));
}

/// `hivebuild.1` on stdout; with `out`, it and a page per subcommand in that folder.
pub(crate) fn man(command: &clap::Command, out: Option<&Path>) -> Result<(), Error> {
    let failed =
        |path: &Path, error| Error::io(Area::Output, "write the man pages to", path)(error);
    match out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command.clone())
                .render(&mut page)
                .map_err(|error| failed(Path::new("stdout"), error))?;
            crate::output::emit(&String::from_utf8_lossy(&page));
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| failed(dir, error))?;
            clap_mangen::generate_to(command.clone(), dir).map_err(|error| failed(dir, error))?;
        }
    }
    Ok(())
}
